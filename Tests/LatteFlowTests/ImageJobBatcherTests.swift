import Foundation
import XCTest
import LatteFlow
import LatteTensor

/// Cross-request batching (`ImageJobBatcher`): every job's images equal the single-request pipeline's,
/// however jobs are interleaved; cancellation, the row bound, fairness and the run loop.
final class ImageJobBatcherTests: XCTestCase {
    /// What `TextToImagePipeline.generate` makes for a request alone.
    func reference(_ p: TextToImagePipeline, _ r: ImageJobRequest) throws -> Tensor {
        let s = p.settings(steps: r.steps, guidance: r.guidance, solver: r.solver, guideWeight: r.guideWeight, seed: r.seed)
        return try p.generate(prompts: Array(repeating: r.prompt, count: r.count), settings: s)
    }

    /// Equal within float rounding: a one-row call (the pipeline's for one image without CFG, or its
    /// guide's one row) computes the per-row conditioning (timestep embedding, adaLN, gates) as a GEMV,
    /// a call of several rows as a blocked GEMM: the same products summed in another order.
    func assertWithinRounding(_ got: Tensor, _ want: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.shape, want.shape, file: file, line: line)
        let worst = zip(got.toArray(), want.toArray()).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-5, "\(what): max |batched − pipeline| = \(worst)", file: file, line: line)
    }

    /// Jobs with prompts of one token length, different seeds, step counts, solvers and guidance, started
    /// at different ticks: each job's images equal the pipeline's (to the bit where both sides' calls
    /// hold several rows), and calls did mix jobs.
    /// Waiting for a group to fill changes which rows share calls (larger calls), never the images: six
    /// guided jobs started a tick apart, served eagerly and with patience, equal the pipeline's to the bit.
    func testPatienceGivesLargerCallsAndTheSameImages() throws {
        let p = try tinyServingPipeline(withGuide: false)
        let requests = (0..<6).map { ImageJobRequest(prompt: "a bag", seed: UInt64($0), steps: 10, guidance: 2, solver: .euler) }
        var rowsPerCall: [Double] = []
        for patience in [0, 4] {
            let batcher = ImageJobBatcher(pipeline: p, maxRows: 16, patience: patience)
            let events = requests.map { _ in JobEvents() }
            for (r, e) in zip(requests, events) {
                batcher.submit(r, onEvent: e.handler)
                batcher.tick()
            }
            while batcher.tick() {}
            for (r, e) in zip(requests, events) {
                XCTAssertEqual(try XCTUnwrap(e.images).toArray(), try reference(p, r).toArray(), "patience \(patience), seed \(r.seed)")
            }
            rowsPerCall.append(batcher.statistics.rowsPerCall)
        }
        XCTAssertGreaterThan(rowsPerCall[1], rowsPerCall[0], "patience makes larger calls: \(rowsPerCall)")
        print("rows per call, patience 0 and 4: \(rowsPerCall)")
    }

    func testInterleavedJobsEqualThePipelineBitForBit() throws {
        let p = try tinyServingPipeline()
        let batcher = ImageJobBatcher(pipeline: p, maxRows: 16)
        let requests = [
            ImageJobRequest(prompt: "a bag", count: 2, seed: 3, steps: 5, guideWeight: 1.5),
            ImageJobRequest(prompt: "a hat", count: 1, seed: 9, steps: 3, guidance: 1, solver: .euler),
            ImageJobRequest(prompt: "a cap", count: 3, seed: 1, steps: 6, guidance: 3, guideWeight: 1),
            ImageJobRequest(prompt: "a bag", count: 1, seed: 4, steps: 4, guideWeight: 2, solver: .euler),
        ]
        // Bit-identical where every network call of the pipeline's run has ≥ 2 rows, as the batcher's
        // do here: job 1 (one image, no CFG) and job 3's guide (one row) run one-row calls alone.
        let exact = [true, false, true, false]
        let startTicks = [0, 1, 3, 4]
        let events = requests.map { _ in JobEvents() }
        var mixed = 0, tick = 0
        while tick < 200 {
            for (i, start) in startTicks.enumerated() where start == tick { batcher.submit(requests[i], onEvent: events[i].handler) }
            let report = batcher.tickReport()
            mixed += report.calls.filter { $0.jobs > 1 }.count
            tick += 1
            if tick > startTicks.max()! && !report.didWork { break }
        }
        XCTAssertGreaterThan(mixed, 0, "some calls held rows of several jobs")
        for (i, r) in requests.enumerated() {
            let got = try XCTUnwrap(events[i].images, "job \(i): \(events[i].events)")
            XCTAssertEqual(got.shape, [r.count, 3, 6, 6])
            if exact[i] {
                XCTAssertEqual(got.toArray(), try reference(p, r).toArray(), "job \(i) differs from the pipeline")
            } else {
                assertWithinRounding(got, try reference(p, r), "job \(i)")
            }
            let n = try FlowSampler.timeGrid(settings: p.settings(steps: r.steps, solver: r.solver), configuration: p.generator.configuration).count - 1
            XCTAssertEqual(events[i].steps, Array(1...n), "job \(i): one .step per solver step, in order")
            if case .started = events[i].events.first {} else { XCTFail("job \(i) did not start with .started") }
            for case .step(_, let total, let previews) in events[i].events {
                XCTAssertEqual(total, n)
                XCTAssertEqual(previews.map { [$0.width, $0.height, $0.channels] }, Array(repeating: [6, 6, 3], count: r.count),
                               "one preview per image, the decoded image's size")
            }
        }
    }

    /// Prompts of different token lengths share calls with padded, masked keys: equal within rounding.
    func testDifferentPromptLengthsMatchWithinRounding() throws {
        let p = try tinyServingPipeline()
        let batcher = ImageJobBatcher(pipeline: p, maxRows: 16)
        let requests = [ImageJobRequest(prompt: "a bag", count: 2, seed: 5, steps: 5),
                        ImageJobRequest(prompt: "a long yellow rain coat", count: 1, seed: 6, steps: 5),
                        ImageJobRequest(prompt: "shoe", count: 1, seed: 7, steps: 7, solver: .euler)]
        let events = requests.map { _ in JobEvents() }
        for (r, e) in zip(requests, events) { batcher.submit(r, onEvent: e.handler) }
        while batcher.tick() {}
        var worst: Float = 0
        for (i, r) in requests.enumerated() {
            let got = try XCTUnwrap(events[i].images).toArray(), want = try reference(p, r).toArray()
            worst = max(worst, zip(got, want).map { abs($0 - $1) }.max()!)
        }
        XCTAssertLessThan(worst, 1e-5, "padding to a longer prompt changes only rounding")
        print("different prompt lengths: max |batched − pipeline| = \(worst)")
    }

    /// A cancelled job gets `.cancelled` at the next tick and its rows leave the calls; the others finish
    /// unchanged; a waiting job can be cancelled before it starts.
    func testCancelFreesTheRowsAtTheNextTick() throws {
        let p = try tinyServingPipeline(withGuide: false)
        let batcher = ImageJobBatcher(pipeline: p, maxRows: 8, maxActiveJobs: 2)
        let keep = ImageJobRequest(prompt: "a hat", count: 1, seed: 2, steps: 4, guidance: 1, solver: .euler)
        let (a, b, c) = (JobEvents(), JobEvents(), JobEvents())
        batcher.submit(keep, onEvent: a.handler)
        let doomed = batcher.submit(ImageJobRequest(prompt: "a bag", count: 3, seed: 1, steps: 4, guidance: 1, solver: .euler), onEvent: b.handler)
        let waiting = batcher.submit(ImageJobRequest(prompt: "a cap", seed: 1), onEvent: c.handler)
        XCTAssertEqual(batcher.tickReport().calls.map(\.rows).reduce(0, +), 4)
        XCTAssertEqual(batcher.queuePosition(of: waiting), 0)
        XCTAssertTrue(batcher.cancel(doomed))
        XCTAssertTrue(batcher.cancel(waiting))
        let next = batcher.tickReport()
        XCTAssertTrue(b.isCancelled && c.isCancelled)
        XCTAssertEqual(next.calls.map(\.rows).reduce(0, +), 1, "only the kept job's row runs")
        XCTAssertEqual(c.events.count, 1, "a job cancelled while waiting gets .cancelled alone")
        XCTAssertFalse(batcher.cancel(doomed), "an ended job cannot be cancelled again")
        while batcher.tick() {}
        assertWithinRounding(try XCTUnwrap(a.images), try reference(p, keep), "the kept job")
        XCTAssertEqual(batcher.activeJobs, 0)
    }

    /// No call holds more than maxRows rows; when more are active, jobs take turns (each served within
    /// one tick of the others), and a bad request fails without disturbing the rest.
    func testRowBoundAndRoundRobin() throws {
        let p = try tinyServingPipeline(withGuide: false)
        let batcher = ImageJobBatcher(pipeline: p, maxRows: 2, maxActiveJobs: 10)
        let requests = (0..<5).map { ImageJobRequest(prompt: "a bag", count: 1, seed: UInt64($0), steps: 8, guidance: 1, solver: .euler) }
        let events = requests.map { _ in JobEvents() }
        for (r, e) in zip(requests, events) { batcher.submit(r, onEvent: e.handler) }
        let bad = JobEvents(), tooMany = JobEvents()
        batcher.submit(ImageJobRequest(prompt: "a bag", count: 0), onEvent: bad.handler)
        batcher.submit(ImageJobRequest(prompt: "a bag", count: 3), onEvent: tooMany.handler)
        // All five start in group 0, two rows per call: they take turns.
        for _ in 0..<3 {
            let report = batcher.tickReport()
            XCTAssertTrue(report.calls.allSatisfy { $0.rows <= 2 }, "\(report.calls)")
            let done = events.map(\.steps.count)
            XCTAssertLessThanOrEqual(done.max()! - done.min()!, 1, "round-robin keeps jobs within one step: \(done)")
        }
        for _ in 0..<5 { XCTAssertTrue(batcher.tickReport().calls.allSatisfy { $0.rows <= 2 }) }
        XCTAssertGreaterThanOrEqual(events.map(\.steps.count).min()!, 2, "no job starves: \(events.map(\.steps.count))")
        XCTAssertNotNil(bad.failure)
        XCTAssertTrue(tooMany.failure?.contains("count") == true, "\(tooMany.events)")
        while batcher.tick() {}
        for (r, e) in zip(requests, events) { assertWithinRounding(try XCTUnwrap(e.images), try reference(p, r), r.prompt) }
    }

    /// The run loop on its own thread with submissions and cancellations from several threads; `stop`
    /// without cancelling finishes every job, and later submissions fail.
    func testRunLoopServesConcurrentSubmitters() throws {
        let p = try tinyServingPipeline()
        let batcher = ImageJobBatcher(pipeline: p, maxRows: 8)
        let stopped = DispatchSemaphore(value: 0)
        let runner = Thread { batcher.run(); stopped.signal() }
        runner.start()
        let events = (0..<6).map { _ in JobEvents() }
        DispatchQueue.concurrentPerform(iterations: 6) { i in
            let id = batcher.submit(ImageJobRequest(prompt: "a bag", count: 1, seed: UInt64(i), steps: 3 + i % 3), onEvent: events[i].handler)
            if i == 5 { batcher.cancel(id) }
        }
        for e in events { XCTAssertEqual(e.done.wait(timeout: .now() + 60), .success) }
        batcher.stop(cancelRemaining: false)
        XCTAssertEqual(stopped.wait(timeout: .now() + 10), .success)
        for e in events.prefix(5) { XCTAssertNotNil(e.images, "\(e.events)") }
        XCTAssertTrue(events[5].isCancelled || events[5].images != nil)
        let late = JobEvents()
        batcher.submit(ImageJobRequest(prompt: "a bag"), onEvent: late.handler)
        XCTAssertNotNil(late.failure)
    }
}
