import Foundation
import LatteServe

/// A minimal HTTP/1.1 client for `latte bench serve`: one blocking socket per request on its own thread,
/// `Connection: close`, bodies by Content-Length, chunked encoding or end of stream.
///
/// Why not URLSession: on Linux it runs on libcurl, and with a dozen requests in flight against one
/// loopback server some requests were never sent — the benchmark sat idle for minutes with the server
/// waiting for work. Blocking sockets on dedicated threads also keep the clients off the Swift
/// concurrency pool the in-process server runs on.
enum LoopbackHTTPClient {
    struct Response {
        let status: Int
        let headers: [String: String]   // names lower-cased
        let body: Data
    }

    /// Sends one request to 127.0.0.1:`port` and waits for the whole response, at most until `deadline`.
    static func exchange(port: Int, method: String, path: String, body: Data?, contentType: String?,
                         deadline: Date) async throws -> Response {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try exchangeBlocking(port: port, method: method, path: path, body: body,
                                                                        contentType: contentType, deadline: deadline) })
            }
            thread.stackSize = 1 << 20
            thread.start()
        }
    }

    private static func exchangeBlocking(port: Int, method: String, path: String, body: Data?, contentType: String?,
                                         deadline: Date) throws -> Response {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        var request = Data(head.utf8)
        if let body { request.append(body) }
        let received: Data
        do {
            let socket = try LoopbackSocket(port: port, timeout: max(deadline.timeIntervalSinceNow, 1))
            defer { socket.close() }
            try socket.send(request)
            received = try socket.receiveAll()
        } catch {
            throw LoadFailure("\(method) \(path): \(error)")
        }
        return try parse(received, what: "\(method) \(path)")
    }

    static func parse(_ data: Data, what: String) throws -> Response {
        let separator = Data("\r\n\r\n".utf8)
        guard let end = data.range(of: separator) else { throw LoadFailure("\(what): the response has no complete header") }
        let lines = String(decoding: data[data.startIndex..<end.lowerBound], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ", maxSplits: 2)
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]) else {
            throw LoadFailure("\(what): a malformed status line \"\(lines[0])\"")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Data(data[end.upperBound...])
        if headers["transfer-encoding"]?.lowercased().contains("chunked") == true {
            body = try dechunk(body, what: what)
        } else if let length = headers["content-length"].flatMap({ Int($0) }) {
            guard body.count >= length else { throw LoadFailure("\(what): the body ended after \(body.count) of \(length) bytes") }
            body = body.prefix(length)
        }
        return Response(status: status, headers: headers, body: body)
    }

    private static func dechunk(_ data: Data, what: String) throws -> Data {
        var out = Data()
        var i = data.startIndex
        let crlf = Data("\r\n".utf8)
        while true {
            guard let lineEnd = data.range(of: crlf, in: i..<data.endIndex) else { throw LoadFailure("\(what): a truncated chunked body") }
            let sizeText = String(decoding: data[i..<lineEnd.lowerBound], as: UTF8.self).split(separator: ";")[0]
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else {
                throw LoadFailure("\(what): a bad chunk size \"\(sizeText)\"")
            }
            if size == 0 { return out }
            let start = lineEnd.upperBound
            guard data.distance(from: start, to: data.endIndex) >= size + 2 else { throw LoadFailure("\(what): a truncated chunk") }
            out.append(data[start..<data.index(start, offsetBy: size)])
            i = data.index(start, offsetBy: size + 2)
        }
    }
}
