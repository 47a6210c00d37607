import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LatteServe
import XCTest

/// A client that closes its connection while its image job runs cancels the job — for a plain
/// (non-streaming) `/v1/images/generations` request, whose handler is waiting for the images, and for a
/// streaming one — and the server stays up, also for a plain chat request. The client is a raw socket,
/// so "closed" means exactly that.
final class ClientDisconnectTests: XCTestCase {
    func cancelledJobs(_ s: TestServer) async throws -> Double {
        let (_, body) = try await s.request("GET", "/metrics")
        let line = String(decoding: body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("latte_jobs{state=\"cancelled\"}") }
        return Double(line?.split(separator: " ").last ?? "0") ?? 0
    }

    func runningJobs(_ s: TestServer) async throws -> Double {
        let (_, body) = try await s.request("GET", "/metrics")
        let line = String(decoding: body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("latte_jobs{state=\"running\"}") }
        return Double(line?.split(separator: " ").last ?? "0") ?? 0
    }

    /// Sends a long image request on its own connection, waits until its job runs, closes the socket,
    /// and checks that one more job ends cancelled and none is left running.
    func checkDisconnectCancels(stream: Bool) async throws {
        let s = try await TestServer.get()
        let cancelledBefore = try await cancelledJobs(s)
        let runningBefore = try await runningJobs(s)
        let body = try JSONSerialization.data(withJSONObject: ["prompt": "walk away", "steps": 1000, "stream": stream, "partial_images": 0])
        let socket = try LoopbackSocket(port: s.port)
        try socket.send("POST /v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(TestServer.apiKey)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n" + String(decoding: body, as: UTF8.self))
        var deadline = Date().addingTimeInterval(60)
        while try await runningJobs(s) <= runningBefore {
            guard Date() < deadline else { return XCTFail("the request's job never started") }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        socket.close()
        deadline = Date().addingTimeInterval(30)
        var cancelled = cancelledBefore
        while Date() < deadline {
            cancelled = try await cancelledJobs(s)
            if cancelled > cancelledBefore { break }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTAssertEqual(cancelled, cancelledBefore + 1, "the departed client's job was not cancelled (stream: \(stream))")
        let running = try await runningJobs(s)
        XCTAssertEqual(running, runningBefore, "a job is still running after its client left")
        let (ok, _) = try await s.request("GET", "/health", key: nil)
        XCTAssertEqual(ok, 200)
    }

    func testPlainRequestWhoseClientDisconnectsCancelsItsJob() async throws {
        try await checkDisconnectCancels(stream: false)
    }

    func testStreamingRequestWhoseClientDisconnectsCancelsItsJob() async throws {
        try await checkDisconnectCancels(stream: true)
    }

    /// A plain chat request whose client leaves mid-answer (this used to trap in Hummingbird and take the
    /// server down): the server stays up and answers the next chat request.
    func testPlainChatWhoseClientDisconnectsLeavesTheServerUp() async throws {
        let s = try await TestServer.get()
        let body = try JSONSerialization.data(withJSONObject: ["messages": [["role": "user", "content": "Tell me a long story."]], "max_tokens": 500])
        let socket = try LoopbackSocket(port: s.port)
        try socket.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(TestServer.apiKey)\r\n"
                        + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n" + String(decoding: body, as: UTF8.self))
        try await Task.sleep(nanoseconds: 500_000_000)
        socket.close()
        try await Task.sleep(nanoseconds: 500_000_000)
        let (ok, _) = try await s.request("GET", "/health", key: nil)
        XCTAssertEqual(ok, 200)
        let (status, answer) = try await s.request("POST", "/v1/chat/completions", json: ["messages": [["role": "user", "content": "Hi"]], "max_tokens": 2])
        XCTAssertEqual(status, 200, String(decoding: answer, as: UTF8.self))
    }
}

