import Foundation
import LatteFlow
import LatteFlowTestSupport
import LatteFormats
import LatteModels
@testable import LatteServe
import LatteTestSupport
import XCTest

/// `BatchingImageJobRunner` on its own (no HTTP): concurrent jobs share network calls and still make
/// the pipeline's images; cancelling a running job frees its rows within a tick while the others
/// finish; the queue bound; shutdown ends every job with a terminal event; chat's gate gets in between
/// ticks.
final class BatchingImageJobRunnerTests: XCTestCase {
    /// The tiny random model (default guidance 3, so every generator call of a job holds two rows per
    /// image), loaded once.
    static let model = Result { () throws -> ServedModel in
        _ = try PinnedAssets.require("smollm2")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batching-runner-\(UUID().uuidString)")
        try TinyTextToImageModel.write(to: folder)
        return try ServedModel.load(directory: folder, assets: .requirePresent)
    }

    func model() throws -> ServedModel { try Self.model.get() }

    /// What `TextToImagePipeline.generate` makes for a request alone, as 8-bit images.
    func reference(_ model: ServedModel, _ r: LatteServe.ImageJobRequest) throws -> [Image] {
        let p = model.pipeline
        let settings = p.settings(steps: r.steps, guidance: r.guidance, seed: r.seed)
        let seeds = (0..<r.count).map { r.seed &+ UInt64($0) }
        return ImageTensors.images(try p.generate(prompts: Array(repeating: r.prompt, count: r.count), settings: settings, seeds: seeds))
    }

    func testConcurrentJobsShareCallsAndMakeThePipelinesImagesBitForBit() throws {
        let m = try model()
        // docs/serving-engine.md: bit for bit when the prompts sharing a call have one token length and
        // every call holds ≥ 2 rows (guided jobs do). Checked here, so a tokenizer change fails loudly.
        XCTAssertEqual(try m.pipeline.tokens(for: "a boot").count, try m.pipeline.tokens(for: "a coat").count)
        let runner = BatchingImageJobRunner(model: m, maxQueue: 4, gate: ComputeGate(), maxRows: 16)
        defer { runner.shutdown() }
        let requests = [LatteServe.ImageJobRequest(prompt: "a boot", count: 2, seed: 4, steps: 10),
                        LatteServe.ImageJobRequest(prompt: "a coat", count: 1, seed: 9, steps: 10)]
        let timeline = JobEvents.Timeline()
        let logs = requests.map { _ in JobEvents(timeline) }
        for (r, log) in zip(requests, logs) { _ = try runner.submit(r, events: log.handler) }
        for (r, log) in zip(requests, logs) {
            XCTAssertTrue(log.waitForEnd(seconds: 120), "\(r.prompt) did not end")
            let events = log.events
            guard case .done(let images, _) = events.last else { return XCTFail("\(r.prompt) ended \(String(describing: events.last))") }
            XCTAssertEqual(images, try reference(m, r), "\(r.prompt): the batched images differ from the pipeline's")
            if case .queued(let position) = events.first { XCTAssertGreaterThanOrEqual(position, 1) } else { XCTFail("\(r.prompt) did not start with .queued") }
            XCTAssertEqual(events.filter { if case .started = $0 { return true } else { return false } }.count, 1)
            let steps = events.compactMap { e -> Int? in if case .step(let k, _, _) = e { return k } else { return nil } }
            XCTAssertEqual(steps, Array(1...max(steps.count, 1)), "every step once, in order")
        }
        // Both jobs ran at once, and some calls held rows of both: served apart, every solver step of
        // either job (Euler: one evaluation) would be a call of its own.
        let started = logs.map { $0.time { if case .started = $0 { return true } else { return false } } ?? .max }
        let ended = logs.map { $0.time { $0.isTerminal } ?? 0 }
        XCTAssertLessThan(started.max()!, ended.min()!, "both jobs started before either finished")
        let stats = runner.statistics
        XCTAssertLessThan(stats.calls, stats.steps, "calls mixed the jobs' rows: \(stats)")
    }

    func testCancellingARunningJobFreesItsRowsWithinATickAndTheOtherFinishes() throws {
        let m = try model()
        XCTAssertEqual(try m.pipeline.tokens(for: "a hat").count, try m.pipeline.tokens(for: "a bag").count)
        let gate = ComputeGate()
        let runner = BatchingImageJobRunner(model: m, maxQueue: 4, gate: gate, maxRows: 16)
        defer { runner.shutdown() }
        let (long, kept) = (JobEvents(), JobEvents())
        let longID = try runner.submit(.init(prompt: "a hat", count: 2, seed: 1, steps: 1000), events: long.handler)
        let keep = LatteServe.ImageJobRequest(prompt: "a bag", count: 1, seed: 6, steps: 8, partialImages: 2)
        _ = try runner.submit(keep, events: kept.handler)
        XCTAssertTrue(long.wait(seconds: 60) { long.steps >= 2 }, "the long job never ran")
        // A chat request takes the gate between ticks, not after the job.
        let waited = Date()
        gate.run {}
        XCTAssertLessThan(Date().timeIntervalSince(waited), 5, "the gate was held for more than a tick")

        let stepsAtCancel = long.steps
        XCTAssertTrue(runner.cancel(longID))
        XCTAssertTrue(long.waitForEnd(seconds: 30))
        guard case .cancelled = long.events.last else { return XCTFail("the cancelled job ended \(String(describing: long.events.last))") }
        // The tick running when cancel was called may finish its step; the next tick drops the rows.
        XCTAssertLessThanOrEqual(long.steps - stepsAtCancel, 1, "the cancelled job kept running")
        XCTAssertFalse(runner.cancel(longID), "an ended job cannot be cancelled again")

        XCTAssertTrue(kept.waitForEnd(seconds: 120))
        let events = kept.events
        guard case .done(let images, _) = events.last else { return XCTFail("the kept job ended \(String(describing: events.last))") }
        XCTAssertEqual(images, try reference(m, keep), "the other job's images changed")
        let previews = events.compactMap { e -> [Image]? in if case .preview(_, _, _, let p) = e { return p } else { return nil } }
        XCTAssertEqual(previews.count, 2, "partial_images 2 gives two previews")
        let preview = try XCTUnwrap(previews.first?.first)
        XCTAssertEqual([preview.width, preview.height], [images[0].width, images[0].height])
    }

    func testQueueBoundRejectsWithRetryAfterAndQueuedJobsCancelAtOnce() throws {
        let m = try model()
        let runner = BatchingImageJobRunner(model: m, maxQueue: 1, gate: ComputeGate(), maxRows: 16, maxActiveJobs: 1)
        defer { runner.shutdown() }
        let (running, queued, after) = (JobEvents(), JobEvents(), JobEvents())
        _ = try runner.submit(.init(prompt: "a hat", steps: 1000), events: running.handler)
        XCTAssertTrue(running.wait(seconds: 60) { running.steps >= 1 })
        let queuedID = try runner.submit(.init(prompt: "a bag", steps: 1000), events: queued.handler)
        XCTAssertEqual(runner.queueDepth, 1)
        XCTAssertThrowsError(try runner.submit(.init(prompt: "one too many"), events: JobEvents().handler)) { error in
            guard case .queueFull(let waiting, let retryAfter)? = error as? ImageJobRejection else { return XCTFail("\(error)") }
            XCTAssertEqual(waiting, 1)
            XCTAssertGreaterThanOrEqual(retryAfter, 1)
        }
        // A waiting job is cancelled at once, on the caller's thread.
        XCTAssertTrue(runner.cancel(queuedID))
        XCTAssertEqual(queued.events.count, 2, "\(queued.events)")
        if case .cancelled = queued.events.last {} else { XCTFail("queued job: \(queued.events)") }
        XCTAssertEqual(runner.queueDepth, 0)
        XCTAssertNoThrow(try runner.submit(.init(prompt: "room again", steps: 2), events: after.handler))
        // n past the rows of one call is refused up front, naming the field.
        let small = BatchingImageJobRunner(model: m, maxQueue: 1, gate: ComputeGate(), maxRows: 2)
        defer { small.shutdown() }
        XCTAssertThrowsError(try small.submit(.init(prompt: "a hat", count: 3), events: JobEvents().handler)) { error in
            guard case .invalid(let field, _)? = error as? ImageJobRejection else { return XCTFail("\(error)") }
            XCTAssertEqual(field, "n")
        }
    }

    func testABurstIsAcceptedWhileBatchSlotsAreFree() throws {
        let m = try model()
        let runner = BatchingImageJobRunner(model: m, maxQueue: 0, gate: ComputeGate(), maxRows: 16, maxActiveJobs: 3)
        defer { runner.shutdown() }
        let logs = (0..<3).map { _ in JobEvents() }
        for (i, log) in logs.enumerated() { _ = try runner.submit(.init(prompt: "a cap", seed: UInt64(i), steps: 3), events: log.handler) }
        XCTAssertThrowsError(try runner.submit(.init(prompt: "a cap"), events: JobEvents().handler), "max-queue 0: a fourth job has no slot")
        for log in logs {
            XCTAssertTrue(log.waitForEnd(seconds: 60))
            if case .done = log.events.last {} else { XCTFail("\(log.events)") }
        }
    }

    func testShutdownEndsEveryJobWithOneTerminalEvent() throws {
        let m = try model()
        let runner = BatchingImageJobRunner(model: m, maxQueue: 4, gate: ComputeGate(), maxRows: 16, maxActiveJobs: 2)
        let logs = (0..<4).map { _ in JobEvents() }
        for (i, log) in logs.enumerated() { _ = try runner.submit(.init(prompt: "a coat", seed: UInt64(i), steps: 1000), events: log.handler) }
        XCTAssertTrue(logs[0].wait(seconds: 60) { logs[0].steps >= 1 && logs[1].steps >= 1 }, "two jobs run at once")
        XCTAssertEqual(runner.queueDepth, 2)
        runner.shutdown()
        for (i, log) in logs.enumerated() {
            XCTAssertTrue(log.waitForEnd(seconds: 30), "job \(i) never ended")
            XCTAssertEqual(log.events.filter(\.isTerminal).count, 1, "job \(i): \(log.events)")
            if case .cancelled = log.events.last {} else { XCTFail("job \(i) ended \(String(describing: log.events.last))") }
        }
        XCTAssertThrowsError(try runner.submit(.init(prompt: "too late"), events: JobEvents().handler)) { error in
            XCTAssertEqual(error as? ImageJobRejection, .shuttingDown)
        }
    }
}

/// One job's events as the runner delivers them (from its threads), each numbered on a timeline that
/// may be shared between jobs to compare their order.
final class JobEvents: @unchecked Sendable {
    final class Timeline: @unchecked Sendable {
        private let lock = NSLock()
        private var n = 0
        func next() -> Int { lock.lock(); defer { lock.unlock() }; n += 1; return n }
    }

    private let condition = NSCondition()
    private var list: [(Int, LatteServe.ImageJobEvent)] = []
    let timeline: Timeline

    init(_ timeline: Timeline = Timeline()) { self.timeline = timeline }

    var handler: @Sendable (LatteServe.ImageJobEvent) -> Void {
        { [self] event in
            let n = timeline.next()
            condition.lock()
            list.append((n, event))
            condition.broadcast()
            condition.unlock()
        }
    }

    var events: [LatteServe.ImageJobEvent] { condition.lock(); defer { condition.unlock() }; return list.map(\.1) }
    /// The timeline number of the first event that matches.
    func time(of match: (LatteServe.ImageJobEvent) -> Bool) -> Int? { condition.lock(); defer { condition.unlock() }; return list.first { match($0.1) }?.0 }
    var steps: Int { events.filter { if case .step = $0 { return true } else { return false } }.count }
    var ended: Bool { events.last?.isTerminal == true }

    /// Waits until `done` holds (checked at every event and every 10 ms).
    func wait(seconds: Double, until done: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !done() {
            if Date() > deadline { return false }
            condition.lock()
            _ = condition.wait(until: min(deadline, Date().addingTimeInterval(0.01)))
            condition.unlock()
        }
        return true
    }

    func waitForEnd(seconds: Double) -> Bool { wait(seconds: seconds) { ended } }
}
