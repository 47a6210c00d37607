import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LatteServe
import Logging
import XCTest

/// Every refusal is OpenAI's error shape with the right status, and none of them stops the server.
final class ErrorResponseTests: XCTestCase {
    func testBadRequestsAre400sNamingTheField() async throws {
        let s = try await TestServer.get()
        let cases: [([String: Any]?, Data?, String?)] = [
            (nil, Data("{not json".utf8), nil),
            (["n": 1], nil, "prompt"),
            (["prompt": 5], nil, "prompt"),
            (["prompt": "a hat", "n": "two"], nil, "n"),
            (["prompt": "a hat", "n": 0], nil, "n"),
            (["prompt": "a hat", "size": "1024x1024"], nil, "size"),
            (["prompt": "a hat", "response_format": "jpeg"], nil, "response_format"),
            (["prompt": "a hat", "seed": -1], nil, "seed"),
            (["prompt": "a hat", "steps": 0], nil, "steps"),
            (["prompt": "a hat", "stream": "yes"], nil, "stream"),
            (["prompt": "a hat", "guidance": true], nil, "guidance"),
        ]
        for (json, raw, field) in cases {
            let (status, body) = try await s.request("POST", "/v1/images/generations", json: json, body: raw)
            XCTAssertEqual(status, 400, "\(json.map { "\($0)" } ?? "raw JSON") → \(String(decoding: body, as: UTF8.self))")
            let e = try apiError(body)
            XCTAssertEqual(e["type"] as? String, "invalid_request_error")
            if let field {
                XCTAssertEqual(e["param"] as? String, field)
                XCTAssertTrue((e["message"] as? String ?? "").contains(field), "\(e)")
            } else {
                XCTAssertEqual(e["code"] as? String, "invalid_json")
            }
        }
        // Longer than SmolLM2's 8192-token context (but inside the body limit).
        let (long, tooLong) = try await s.request("POST", "/v1/images/generations", json: ["prompt": String(repeating: "cat ", count: 9000)])
        XCTAssertEqual(long, 400)
        XCTAssertEqual(try apiError(tooLong)["param"] as? String, "prompt")
        let (_, size) = try await s.request("POST", "/v1/images/generations", json: ["prompt": "a hat", "size": "1024x1024"])
        XCTAssertTrue((try apiError(size)["message"] as? String ?? "").contains("1024x1024"))
        try await assertStillServing(s)
    }

    func testMissingOrWrongKeyIs401ButHealthStaysOpen() async throws {
        let s = try await TestServer.get()
        for key in [nil, "wrong-key"] as [String?] {
            let (status, body) = try await s.request("GET", "/v1/models", key: key)
            XCTAssertEqual(status, 401)
            XCTAssertEqual(try apiError(body)["type"] as? String, "authentication_error")
            let (post, _) = try await s.request("POST", "/v1/images/generations", json: ["prompt": "x"], key: key)
            XCTAssertEqual(post, 401)
        }
        let (health, _) = try await s.request("GET", "/health", key: nil)
        XCTAssertEqual(health, 200)
    }

    func testBodyOverTheLimitIs413() async throws {
        let s = try await TestServer.get()
        let prompt = String(repeating: "a", count: TestServer.maxBodyBytes + 100)
        let (status, body) = try await s.request("POST", "/v1/images/generations", json: ["prompt": prompt])
        XCTAssertEqual(status, 413)
        XCTAssertEqual(try apiError(body)["code"] as? String, "request_too_large")
        let (chat, _) = try await s.request("POST", "/v1/chat/completions", json: ["messages": [["role": "user", "content": prompt]]])
        XCTAssertEqual(chat, 413)
        try await assertStillServing(s)
    }

    func testUnknownRouteIs404InOpenAIShape() async throws {
        let s = try await TestServer.get()
        let (status, body) = try await s.request("GET", "/v1/nothing")
        XCTAssertEqual(status, 404)
        XCTAssertEqual(try apiError(body)["code"] as? String, "not_found")
    }

    func assertStillServing(_ s: TestServer, file: StaticString = #filePath, line: UInt = #line) async throws {
        let (status, _) = try await s.request("GET", "/health", key: nil)
        XCTAssertEqual(status, 200, file: file, line: line)
    }
}

/// Before the model is ready `/health` is 503 `loading` and the API 503; a model that fails to load shuts
/// the server down with an error.
final class ServerLifecycleTests: XCTestCase {
    func testLoadingThen503ThenAFailedLoadEndsTheServer() async throws {
        let release = DispatchSemaphore(value: 0)
        var c = ServeConfiguration()
        c.port = 0
        c.handlesSignals = false
        var logger = Logger(label: "latte.serve.lifecycle")
        logger.logLevel = .critical
        let server = LatteServer(configuration: c, logger: logger) {
            release.wait()
            throw ServeError(description: "no such model folder")
        }
        let ports = AsyncStream<Int>.makeStream()
        let run = Task { try await server.run { ports.continuation.yield($0) } }
        var port = 0
        for await p in ports.stream { port = p; break }
        func get(_ path: String) async throws -> (Int, Data) {
            let (data, response) = try await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            return ((response as! HTTPURLResponse).statusCode, data)
        }
        let (health, body) = try await get("/health")
        XCTAssertEqual(health, 503)
        XCTAssertEqual(try object(body)["status"] as? String, "loading")
        let (models, error) = try await get("/v1/models")
        XCTAssertEqual(models, 503)
        XCTAssertEqual(try apiError(error)["code"] as? String, "model_loading")
        release.signal()
        do {
            try await run.value
            XCTFail("a server whose model failed to load returned normally")
        } catch {
            XCTAssertTrue("\(error)".contains("no such model folder"), "\(error)")
        }
    }
}
