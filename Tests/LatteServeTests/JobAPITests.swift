import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LatteFormats
import XCTest

/// The native job API: 202 with a queue position, status through queued / running / done / cancelled,
/// progress events, cancellation, the queue limit's 429, and a departing streaming client's cancel.
final class JobAPITests: XCTestCase {
    /// A job long enough to still be running when the test acts on it.
    static let long: [String: Any] = ["prompt": "a long job", "steps": 1000]

    func create(_ s: TestServer, _ json: [String: Any]) async throws -> String {
        let (status, body) = try await s.request("POST", "/v1/jobs", json: json)
        XCTAssertEqual(status, 202, String(decoding: body, as: UTF8.self))
        let o = try object(body)
        XCTAssertNotNil(o["queue_position"] as? Int)
        return try XCTUnwrap(o["id"] as? String)
    }

    func status(_ s: TestServer, _ id: String) async throws -> [String: Any] {
        let (code, body) = try await s.request("GET", "/v1/jobs/\(id)")
        XCTAssertEqual(code, 200)
        return try object(body)
    }

    func waitFor(_ s: TestServer, _ id: String, _ states: Set<String>, timeout: TimeInterval = 120) async throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let o = try await status(s, id)
            if states.contains(o["status"] as? String ?? "") { return o }
            try await Task.sleep(nanoseconds: 20_000_000)
        }
        XCTFail("job \(id) never reached \(states)")
        return [:]
    }

    func testJobRunsToDoneWithImages() async throws {
        let s = try await TestServer.get()
        let id = try await create(s, ["prompt": "a boot", "n": 2, "seed": 4])
        let done = try await waitFor(s, id, ["done", "failed", "cancelled"])
        XCTAssertEqual(done["status"] as? String, "done")
        XCTAssertEqual(done["step"] as? Int, done["total_steps"] as? Int)
        let data = try XCTUnwrap(done["data"] as? [[String: Any]])
        XCTAssertEqual(data.count, 2)
        let png = try XCTUnwrap(Data(base64Encoded: try XCTUnwrap(data[0]["b64_json"] as? String)))
        XCTAssertEqual(try PNG.decode([UInt8](png)).width, 32)
        let (missing, _) = try await s.request("GET", "/v1/jobs/imgjob_none")
        XCTAssertEqual(missing, 404)
    }

    /// Long jobs that fill the runner's batch slots, each seen running.
    func fillSlots(_ s: TestServer) async throws -> [String] {
        var ids: [String] = []
        for _ in 0..<TestServer.maxActiveJobs { ids.append(try await create(s, Self.long)) }
        for id in ids {
            let r = try await waitFor(s, id, ["running"])
            XCTAssertEqual(r["status"] as? String, "running")
        }
        return ids
    }

    /// Cancels jobs and waits until each has ended, so the next test starts with free slots.
    func cancelAll(_ s: TestServer, _ ids: [String]) async throws {
        for id in ids.reversed() { _ = try await s.request("POST", "/v1/jobs/\(id)/cancel") }
        for id in ids { _ = try await waitFor(s, id, ["cancelled", "done"], timeout: 30) }
    }

    func testCancelStopsARunningJobAndAQueuedOne() async throws {
        let s = try await TestServer.get()
        let slots = try await fillSlots(s)
        let running = slots[0]
        let queued = try await create(s, Self.long)
        let q = try await status(s, queued)
        XCTAssertEqual(q["status"] as? String, "queued")
        XCTAssertEqual(q["queue_position"] as? Int, 1)
        let (c1, _) = try await s.request("POST", "/v1/jobs/\(queued)/cancel")
        XCTAssertEqual(c1, 200)
        let afterCancel = try await status(s, queued)
        XCTAssertEqual(afterCancel["status"] as? String, "cancelled")
        let (c2, _) = try await s.request("POST", "/v1/jobs/\(running)/cancel")
        XCTAssertEqual(c2, 200)
        let end = try await waitFor(s, running, ["done", "failed", "cancelled"], timeout: 30)
        XCTAssertEqual(end["status"] as? String, "cancelled")
        XCTAssertLessThan(end["step"] as? Int ?? 0, end["total_steps"] as? Int ?? 0)
        try await cancelAll(s, Array(slots.dropFirst()))
        // Cancelling a finished job is a conflict, not a crash.
        let (again, body) = try await s.request("POST", "/v1/jobs/\(running)/cancel")
        XCTAssertEqual(again, 409)
        _ = try apiError(body)
    }

    func testFullQueueIs429WithRetryAfter() async throws {
        let s = try await TestServer.get()
        var ids = try await fillSlots(s)
        for _ in 0..<TestServer.maxQueue { ids.append(try await create(s, Self.long)) }
        let (status, body, response) = try await s.exchange("POST", "/v1/images/generations", json: ["prompt": "one too many"])
        XCTAssertEqual(status, 429)
        XCTAssertEqual(try apiError(body)["code"] as? String, "queue_full")
        XCTAssertGreaterThanOrEqual(Int(response.value(forHTTPHeaderField: "Retry-After") ?? "") ?? 0, 1)
        let (jobStatus, _, _) = try await s.exchange("POST", "/v1/jobs", json: ["prompt": "one too many"])
        XCTAssertEqual(jobStatus, 429)
        try await cancelAll(s, ids)
        let (ok, _) = try await s.request("POST", "/v1/images/generations", json: ["prompt": "room again"])
        XCTAssertEqual(ok, 200)
    }

    func testEventsStreamProgressThenDone() async throws {
        let s = try await TestServer.get()
        let blockers = try await fillSlots(s)
        let id = try await create(s, ["prompt": "a scarf", "steps": 5, "partial_images": 1])
        async let stream = s.request("GET", "/v1/jobs/\(id)/events")
        try await Task.sleep(nanoseconds: 300_000_000)
        try await cancelAll(s, blockers)
        let (code, body) = try await stream
        XCTAssertEqual(code, 200)
        let events = serverSentEvents(body)
        let names = events.map { $0.0 ?? "" }
        XCTAssertEqual(names.first, "status")
        XCTAssertEqual(names.last, "done", "\(names)")
        let progress = try events.filter { $0.0 == "progress" }.map { try object(Data($0.1.utf8)) }
        // Group boundaries may add steps to the 5 asked for: every step of the grid is reported, in order.
        let total = try XCTUnwrap(progress.first?["total_steps"] as? Int)
        XCTAssertGreaterThanOrEqual(total, 5)
        XCTAssertEqual(progress.map { $0["step"] as? Int ?? 0 }, Array(1...total), "\(names)")
        XCTAssertTrue(names.contains("running"))
        XCTAssertEqual(names.filter { $0 == "preview" }.count, 1)
        let done = try object(Data(events.last!.1.utf8))
        XCTAssertEqual((done["data"] as? [[String: Any]])?.count, 1)
    }

    func testStreamingClientThatDisconnectsCancelsItsJob() async throws {
        let s = try await TestServer.get()
        func cancelledCount() async throws -> Double {
            let (_, body) = try await s.request("GET", "/metrics")
            let line = String(decoding: body, as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("latte_jobs{state=\"cancelled\"}") }
            return Double(line?.split(separator: " ").last ?? "0") ?? 0
        }
        let before = try await cancelledCount()
        var r = URLRequest(url: s.base.appendingPathComponent("/v1/images/generations"))
        r.httpMethod = "POST"
        r.setValue("Bearer \(TestServer.apiKey)", forHTTPHeaderField: "Authorization")
        r.httpBody = try JSONSerialization.data(withJSONObject: ["prompt": "walk away", "n": 4, "steps": 1000, "stream": true, "partial_images": 0])
        let task = URLSession.shared.dataTask(with: r) { _, _, _ in }
        task.resume()
        try await Task.sleep(nanoseconds: 1_000_000_000)
        task.cancel()
        let deadline = Date().addingTimeInterval(30)
        var after = before
        while Date() < deadline {
            after = try await cancelledCount()
            if after > before { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        XCTAssertGreaterThan(after, before, "the departed client's job was not cancelled")
        let (ok, _) = try await s.request("GET", "/health", key: nil)
        XCTAssertEqual(ok, 200)
    }
}
