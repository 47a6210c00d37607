import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A blocking TCP connection to a server on 127.0.0.1, written to and read by hand: for load tests
/// (`latte bench serve`'s client) and for tests that must do what HTTP libraries will not — hang up in
/// the middle of a request, say.
public final class LoopbackSocket {
    private var fd: Int32

    /// Connects to 127.0.0.1:`port`; `timeout` (seconds) bounds every later send and receive.
    public init(port: Int, timeout: Double? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LoopbackSocketError("socket() failed: errno \(errno)") }
        if let timeout {
            var t = timeval(tv_sec: max(Int(timeout.rounded(.up)), 1), tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, socklen_t(MemoryLayout<timeval>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            let code = errno
            Glibc.close(fd)
            throw LoopbackSocketError("connect to 127.0.0.1:\(port) failed: errno \(code)")
        }
    }

    public func send(_ data: Data) throws {
        try data.withUnsafeBytes { raw in
            var sent = 0
            while sent < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
                guard n > 0 else { throw LoopbackSocketError("send failed: errno \(errno)") }
                sent += n
            }
        }
    }

    public func send(_ text: String) throws { try send(Data(text.utf8)) }

    /// Everything the server sends until it closes the connection.
    public func receiveAll() throws -> Data {
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return received }
            guard n > 0 else {
                throw LoopbackSocketError(errno == EAGAIN || errno == EWOULDBLOCK ? "no response before the timeout" : "recv failed: errno \(errno)")
            }
            received.append(contentsOf: buffer[0..<n])
        }
    }

    public func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}

public struct LoopbackSocketError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}
