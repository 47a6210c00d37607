import Foundation
#if canImport(Glibc)
import Glibc
#endif

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
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoadFailure("socket() failed: errno \(errno)") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: max(Int(deadline.timeIntervalSinceNow.rounded(.up)), 1), tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw LoadFailure("\(method) \(path): connect to 127.0.0.1:\(port) failed: errno \(errno)") }

        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        if let contentType { head += "Content-Type: \(contentType)\r\n" }
        head += "Content-Length: \(body?.count ?? 0)\r\n\r\n"
        var request = Data(head.utf8)
        if let body { request.append(body) }
        try request.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw LoadFailure("\(method) \(path): send failed: errno \(errno)") }
                sent += n
            }
        }

        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { break }
            guard n > 0 else {
                throw LoadFailure("\(method) \(path): " + (errno == EAGAIN || errno == EWOULDBLOCK ? "no response before the time limit" : "recv failed: errno \(errno)"))
            }
            received.append(contentsOf: buffer[0..<n])
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
