import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LatteFlow
import LatteFormats
import LatteModels
import LatteServe
import LatteTestSupport
import LatteFlowTestSupport
import Logging
import XCTest

/// A `LatteServer` on a free loopback port with a tiny random model: SmolLM2-135M's geometry (the pinned
/// smollm2 backbone, for prompts and chat), a 5-group generator on 4×8×8 latents and a random 3-channel
/// autoencoder (32×32 RGB images), 2 sampling steps by default. Shared by all tests in a process.
final class TestServer: @unchecked Sendable {
    static let apiKey = "test-key-123"
    static let maxQueue = 2
    /// Image jobs the (batching) runner samples at once; tests that need a job to wait fill these first.
    static let maxActiveJobs = 2
    static let maxBodyBytes = 64 * 1024

    let server: LatteServer
    let port: Int
    let task: Task<Void, Error>
    var base: URL { URL(string: "http://127.0.0.1:\(port)")! }

    /// The shared server, started (and its model loaded) on first use.
    static func get() async throws -> TestServer { try await SharedServer.instance.get() }

    private init(server: LatteServer, port: Int, task: Task<Void, Error>) {
        (self.server, self.port, self.task) = (server, port, task)
    }

    static func start() async throws -> TestServer {
        _ = try PinnedAssets.require("smollm2")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("serve-model-\(UUID().uuidString)")
        try writeTinyModel(folder)
        var c = ServeConfiguration()
        c.port = 0
        c.apiKey = apiKey
        c.maxQueue = maxQueue
        c.maxActiveJobs = maxActiveJobs
        c.maxBodyBytes = maxBodyBytes
        c.handlesSignals = false
        var logger = Logger(label: "latte.serve.test")
        logger.logLevel = .warning
        let server = LatteServer(configuration: c, logger: logger) {
            try ServedModel.load(directory: folder, assets: .requirePresent)
        }
        let ports = AsyncStream<Int>.makeStream()
        let task = Task { try await server.run { ports.continuation.yield($0) } }
        var port = 0
        for await p in ports.stream { port = p; break }
        let s = TestServer(server: server, port: port, task: task)
        // Wait for the model (seconds: the backbone loads from the asset cache).
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline {
            if let (status, _) = try? await s.request("GET", "/health", key: nil), status == 200 { return s }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        throw ServerTestError("the test server's model did not load in 300 s")
    }

    /// A model folder `ServedModel.load` reads; random weights, fixed seeds.
    static func writeTinyModel(_ model: URL) throws { try TinyTextToImageModel.write(to: model) }

    /// One HTTP exchange: status and body. `key` nil sends no Authorization header. The timeout is
    /// generous because CI machines are shared: a tiny image job that takes 0.1 s on an idle machine did
    /// not finish within 120 s under a load average of 8 on two cores (ImageGenerationTests' URL test,
    /// sessions 13 and 14; whether it was slow or stalled is not established — a stall fails either way).
    func request(_ method: String, _ path: String, json: [String: Any]? = nil, body: Data? = nil, key: String? = TestServer.apiKey,
                 timeout: TimeInterval = 600) async throws -> (Int, Data) {
        var r = URLRequest(url: base.appendingPathComponent(path))
        r.httpMethod = method
        r.timeoutInterval = timeout
        if let key { r.setValue("Bearer \(key)", forHTTPHeaderField: "Authorization") }
        if let json { r.httpBody = try JSONSerialization.data(withJSONObject: json) }
        if let body { r.httpBody = body }
        if r.httpBody != nil { r.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        let (data, response) = try await URLSession.shared.data(for: r)
        return ((response as! HTTPURLResponse).statusCode, data)
    }

    /// The response headers too.
    func exchange(_ method: String, _ path: String, json: [String: Any]? = nil) async throws -> (Int, Data, HTTPURLResponse) {
        var r = URLRequest(url: base.appendingPathComponent(path))
        r.httpMethod = method
        r.setValue("Bearer \(Self.apiKey)", forHTTPHeaderField: "Authorization")
        if let json { r.httpBody = try JSONSerialization.data(withJSONObject: json) }
        let (data, response) = try await URLSession.shared.data(for: r)
        let h = response as! HTTPURLResponse
        return (h.statusCode, data, h)
    }
}

func object(_ data: Data, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let value = try JSONSerialization.jsonObject(with: data)
    guard let o = value as? [String: Any] else {
        XCTFail("not a JSON object: \(String(decoding: data, as: UTF8.self))", file: file, line: line)
        return [:]
    }
    return o
}

/// Server-sent events in a body: (event name or nil, data) pairs, comments dropped.
func serverSentEvents(_ data: Data) -> [(String?, String)] {
    String(decoding: data, as: UTF8.self).components(separatedBy: "\n\n").compactMap { block in
        var name: String?
        var lines: [String] = []
        for line in block.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("event: ") { name = String(line.dropFirst(7)) }
            if line.hasPrefix("data: ") { lines.append(String(line.dropFirst(6))) }
        }
        return lines.isEmpty ? nil : (name, lines.joined(separator: "\n"))
    }
}

/// The `error` object of an OpenAI-shaped error body.
func apiError(_ data: Data, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
    let o = try object(data, file: file, line: line)
    guard let e = o["error"] as? [String: Any] else {
        XCTFail("no 'error' object: \(String(decoding: data, as: UTF8.self))", file: file, line: line)
        return [:]
    }
    XCTAssertNotNil(e["message"] as? String, file: file, line: line)
    XCTAssertNotNil(e["type"] as? String, file: file, line: line)
    XCTAssertTrue(e.keys.contains("code"), file: file, line: line)
    return e
}

/// Starts the test server once per process, however many tests ask at the same time.
private actor SharedServer {
    static let instance = SharedServer()
    private var starting: Task<TestServer, Error>?

    func get() async throws -> TestServer {
        if let starting { return try await starting.value }
        let task = Task { try await TestServer.start() }
        starting = task
        return try await task.value
    }
}

/// A test-server failure with its reason (a server that never becomes ready fails the test, not skips it).
struct ServerTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
