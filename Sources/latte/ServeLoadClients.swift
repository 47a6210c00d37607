import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LatteFormats

/// The HTTP side of `latte bench serve`: a client for one loopback server, what every request gave
/// (latencies, failures with their reasons), and the clients' loops.
struct ServeLoadHTTP: Sendable {
    let port: Int
    /// After this, no request is sent and open ones time out: the benchmark is bounded in time.
    let deadline: Date

    init(port: Int, deadline: Date) {
        self.port = port
        self.deadline = deadline
    }

    var timeLeft: Bool { Date() < deadline }

    /// One exchange: status, body, headers. Throws on a transport error or when time is up. Every
    /// request has its own connection (`LoopbackHTTPClient`), so the client never queues requests and
    /// the latencies are the server's.
    func send(_ method: String, _ path: String, json: [String: Any]? = nil) async throws -> (Int, Data, HTTPURLResponse) {
        guard timeLeft else { throw LoadFailure("the time limit passed before \(method) \(path) was sent") }
        let body = try json.map { try JSONSerialization.data(withJSONObject: $0) }
        let r = try await LoopbackHTTPClient.exchange(port: port, method: method, path: path, body: body,
                                                      contentType: json == nil ? nil : "application/json", deadline: deadline)
        guard let h = HTTPURLResponse(url: URL(string: "http://127.0.0.1:\(port)\(path)")!, statusCode: r.status,
                                      httpVersion: "HTTP/1.1", headerFields: r.headers) else {
            throw LoadFailure("\(method) \(path): not an HTTP response")
        }
        return (r.status, r.body, h)
    }

    /// A JSON object body, or a failure quoting the body.
    static func object(_ data: Data, _ what: String) throws -> [String: Any] {
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LoadFailure("\(what): the body is not a JSON object: \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        return o
    }

    /// Checks `data: [{b64_json}]` holds `count` PNGs of the model's size.
    static func checkImages(_ o: [String: Any], count: Int, width: Int, height: Int, _ what: String) throws {
        guard let items = o["data"] as? [[String: Any]], items.count == count else {
            throw LoadFailure("\(what): expected \(count) image(s), got \(String(describing: (o["data"] as? [Any])?.count))")
        }
        for item in items {
            guard let b64 = item["b64_json"] as? String, let png = Data(base64Encoded: b64) else { throw LoadFailure("\(what): an image without b64_json") }
            let image = try PNG.decode([UInt8](png))
            guard image.width == width, image.height == height else {
                throw LoadFailure("\(what): a \(image.width)x\(image.height) image, the model makes \(width)x\(height)")
            }
        }
    }
}

/// A request that did not give what it should have: the benchmark reports it and exits non-zero.
struct LoadFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What a phase's requests gave, filled from many tasks.
final class LoadRecord: @unchecked Sendable {
    private let lock = NSLock()
    private var latencies: [String: [Double]] = [:]
    private var counts: [String: Int] = [:]
    private(set) var failures: [String] = []

    func succeeded(_ kind: String, seconds: Double) {
        lock.lock(); latencies[kind, default: []].append(seconds); lock.unlock()
    }

    func count(_ kind: String) { lock.lock(); counts[kind, default: 0] += 1; lock.unlock() }

    func failed(_ kind: String, _ message: String) {
        lock.lock(); failures.append("\(kind): \(message)"); lock.unlock()
    }

    func latencies(_ kind: String) -> [Double] { lock.lock(); defer { lock.unlock() }; return latencies[kind] ?? [] }
    func counted(_ kind: String) -> Int { lock.lock(); defer { lock.unlock() }; return counts[kind] ?? 0 }
    var failureCount: Int { lock.lock(); defer { lock.unlock() }; return failures.count }

    /// "p50 0.123 s, p95 …, p99 …" (nearest rank), or "none".
    func percentiles(_ kind: String) -> String {
        let sorted = latencies(kind).sorted()
        guard !sorted.isEmpty else { return "none" }
        func p(_ q: Double) -> String {
            String(format: "%.3f", sorted[min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))])
        }
        return "p50 \(p(0.5)) s, p95 \(p(0.95)) s, p99 \(p(0.99)) s"
    }
}

/// A flag the image clients raise when they are done, so the chat clients stop.
final class LoadFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    func raise() { lock.lock(); raised = true; lock.unlock() }
    var isRaised: Bool { lock.lock(); defer { lock.unlock() }; return raised }
}

/// The process's peak resident set (VmHWM of /proc/self/status), in MiB; `resetPeak` starts a new peak
/// (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0).
enum PeakMemory {
    static func mebibytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }

    @discardableResult static func resetPeak() -> Bool {
        guard let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? h.close() }
        return (try? h.write(contentsOf: Data("5".utf8))) != nil
    }

    static var text: String { mebibytes().map { String(format: "%.0f MiB", $0) } ?? "unknown (no /proc/self/status)" }
}
