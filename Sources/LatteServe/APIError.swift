import Foundation
import HTTPTypes
import Hummingbird

/// An error answered in OpenAI's shape, `{"error": {"message", "type", "code", "param"}}`, with its
/// HTTP status. Every failure of a request becomes one of these (`OpenAIErrorMiddleware`), so clients
/// written for OpenAI read them, and no bad request can take the server down.
public struct APIError: Error, CustomStringConvertible, Sendable {
    public let status: HTTPResponse.Status
    public let message: String
    /// OpenAI's `type`: invalid_request_error, authentication_error, rate_limit_error, server_error, …
    public let type: String
    public let code: String?
    /// The request field at fault, if one is.
    public let param: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ message: String, type: String = "invalid_request_error", code: String? = nil, param: String? = nil) {
        (self.status, self.message, self.type, self.code, self.param) = (status, message, type, code, param)
    }

    public var description: String { message }

    /// A 400 naming the field at fault.
    public static func invalid(_ field: String, _ message: String, code: String = "invalid_value") -> APIError {
        APIError(.badRequest, message, code: code, param: field)
    }

    public static let unauthorized = APIError(
        .unauthorized, "a valid API key is required: send it as 'Authorization: Bearer KEY'",
        type: "authentication_error", code: "invalid_api_key")

    public static func notFound(_ what: String) -> APIError { APIError(.notFound, what, code: "not_found") }

    public static let loading = APIError(.serviceUnavailable, "the model is still loading; retry shortly (GET /health says when it is ready)",
                                         type: "server_error", code: "model_loading")

    public static func bodyTooLarge(limit: Int) -> APIError {
        APIError(.contentTooLarge, "the request body is larger than the server's limit of \(limit) bytes (--max-body-bytes)",
                 code: "request_too_large")
    }

    public static func queueFull(_ message: String, retryAfter: Int) -> APIError {
        var e = APIError(.tooManyRequests, message, type: "rate_limit_error", code: "queue_full")
        e.headers[.retryAfter] = String(retryAfter)
        return e
    }

    /// The JSON body.
    public var body: [String: Any] {
        var error: [String: Any] = ["message": message, "type": type]
        error["code"] = code ?? NSNull()
        error["param"] = param ?? NSNull()
        return ["error": error]
    }

    public func response() -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: JSON.data(body))))
    }
}

/// Turns anything a handler throws into an OpenAI-shaped error response.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response()
        } catch let error as HTTPResponseError {
            let status = error.status
            let message: String
            switch status {
            case .notFound: message = "no route for \(request.method) \(request.uri.path)"
            case .methodNotAllowed: message = "\(request.method) is not allowed on \(request.uri.path)"
            case .contentTooLarge: message = "the request body is too large"
            default: message = "\(error)"
            }
            let type = status.code >= 500 ? "server_error" : "invalid_request_error"
            return APIError(status, message, type: type, code: status.code == 404 ? "not_found" : nil).response()
        } catch let error as ImageJobRejection {
            return error.apiError.response()
        } catch {
            context.logger.error("request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            return APIError(.internalServerError, "internal error: \(error)", type: "server_error").response()
        }
    }
}

extension ImageJobRejection {
    var apiError: APIError {
        switch self {
        case .queueFull(_, let retryAfter): return .queueFull(description, retryAfter: retryAfter)
        case .invalid(let field, let message): return .invalid(field, message)
        case .shuttingDown: return APIError(.serviceUnavailable, description, type: "server_error", code: "shutting_down")
        }
    }
}

/// JSON text from Foundation values (sorted keys, so answers are stable).
enum JSON {
    static func data(_ value: Any) -> [UInt8] {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return [UInt8](data)
    }

    static func response(_ value: Any, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data(value))))
    }
}
