import Foundation
import Hummingbird

/// A JSON request body read field by field, so that every mistake is a 400 naming its field: OpenAI's
/// clients send loosely typed JSON, and a Codable decoding error would not say which field was wrong
/// in words a client's user can act on.
struct RequestFields {
    let object: [String: Any]

    /// Reads and parses the body, at most `limit` bytes (413 past it).
    static func read(_ request: Request, limit: Int) async throws -> RequestFields {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.bodyTooLarge(limit: limit) }
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: limit) } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: limit)
        }
        return try parse(Data(buffer.readableBytesView))
    }

    /// `read`, keeping the collected body in `request`: Hummingbird's `consumeWithInboundCloseHandler`
    /// needs that (it replays the body, then watches the connection) and crashes on a body that was
    /// read from a copy of the request.
    static func read(collecting request: inout Request, limit: Int) async throws -> RequestFields {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit { throw APIError.bodyTooLarge(limit: limit) }
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: limit) } catch let error as HTTPResponseError where error.status == .contentTooLarge {
            throw APIError.bodyTooLarge(limit: limit)
        }
        return try parse(Data(buffer.readableBytesView))
    }

    static func parse(_ data: Data) throws -> RequestFields {
        guard !data.isEmpty else { throw APIError(.badRequest, "the request body is empty; send a JSON object", code: "invalid_json") }
        let value: Any
        do { value = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) } catch {
            throw APIError(.badRequest, "the request body is not valid JSON: \((error as NSError).userInfo[NSDebugDescriptionErrorKey] ?? error.localizedDescription)", code: "invalid_json")
        }
        guard let object = value as? [String: Any] else {
            throw APIError(.badRequest, "the request body must be a JSON object", code: "invalid_json")
        }
        return RequestFields(object: object)
    }

    func has(_ field: String) -> Bool { object[field] != nil && !(object[field] is NSNull) }

    func string(_ field: String) throws -> String? {
        guard has(field) else { return nil }
        guard let s = object[field] as? String else { throw APIError.invalid(field, "'\(field)' must be a string", code: "invalid_type") }
        return s
    }

    func requiredString(_ field: String) throws -> String {
        guard let s = try string(field) else { throw APIError.invalid(field, "'\(field)' is required", code: "missing_required_parameter") }
        return s
    }

    func int(_ field: String) throws -> Int? {
        guard has(field) else { return nil }
        guard let n = object[field] as? NSNumber, !Self.isBool(n), let i = Int(exactly: n.doubleValue) else {
            throw APIError.invalid(field, "'\(field)' must be an integer", code: "invalid_type")
        }
        return i
    }

    func uint64(_ field: String) throws -> UInt64? {
        guard let i = try int(field) else { return nil }
        guard i >= 0 else { throw APIError.invalid(field, "'\(field)' must be ≥ 0, got \(i)") }
        return UInt64(i)
    }

    func float(_ field: String) throws -> Float? {
        guard has(field) else { return nil }
        guard let n = object[field] as? NSNumber, !Self.isBool(n), n.doubleValue.isFinite else {
            throw APIError.invalid(field, "'\(field)' must be a number", code: "invalid_type")
        }
        return n.floatValue
    }

    func bool(_ field: String) throws -> Bool? {
        guard has(field) else { return nil }
        guard let n = object[field] as? NSNumber, Self.isBool(n) else { throw APIError.invalid(field, "'\(field)' must be true or false", code: "invalid_type") }
        return n.boolValue
    }

    /// JSON booleans arrive as NSNumber too (a `__NSCFBoolean` of type "c"); tell them apart from numbers.
    static func isBool(_ n: NSNumber) -> Bool {
        String(cString: n.objCType) == "c" || String(describing: type(of: n)) == "__NSCFBoolean"
    }
}
