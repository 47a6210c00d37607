import Foundation
import LatteFlow
import LatteKernels
import LatteTensor

/// `latte bench batching`: image jobs arriving at staggered times, served by `ImageJobBatcher`
/// (cross-request batching over the timestep experts) against the same jobs served one at a time by
/// `TextToImagePipeline` at batch 1, in the same run; plus the pipeline's own batch-16 over batch-1
/// throughput, the bound on what batching can give.
public struct BatchingBenchmark {
    public struct Options: Sendable {
        public var jobs: Int
        /// Images per job.
        public var count: Int
        /// Seconds between arrivals; nil = a quarter of one job's time alone (measured first), so jobs
        /// overlap and the one-at-a-time server has a queue.
        public var stagger: Double?
        public var maxRows: Int
        public var steps: Int?
        public var threads: Int?
        /// `ImageJobBatcher.patience`.
        public var patience: Int

        public init(jobs: Int = 16, count: Int = 1, stagger: Double? = nil, maxRows: Int = 32, steps: Int? = nil, threads: Int? = nil,
                    patience: Int = 0) {
            (self.jobs, self.count, self.stagger, self.maxRows, self.steps, self.threads) = (jobs, count, stagger, maxRows, steps, threads)
            self.patience = patience
        }

        public func validate() throws {
            guard jobs >= 1, count >= 1, maxRows >= count else {
                throw BenchmarkOptionError("need jobs ≥ 1, count ≥ 1 and max-rows ≥ count, got \(jobs), \(count), \(maxRows)")
            }
            guard patience >= 0 else { throw BenchmarkOptionError("patience must be ≥ 0 ticks, got \(patience)") }
            if let stagger, stagger < 0 { throw BenchmarkOptionError("stagger must be ≥ 0 seconds, got \(stagger)") }
        }
    }

    public struct Result: Sendable {
        public let options: Options
        public let threads: Int
        public let stagger: Double
        public let sequentialImagesPerSecond: Double
        public let batchedImagesPerSecond: Double
        public let sequentialMeanLatency: Double
        public let batchedMeanLatency: Double
        public let rowsPerCall: Double
        /// The pipeline alone: 16 images at batch 16 and at batch 1.
        public let pipelineBatch16ImagesPerSecond: Double
        public let pipelineBatch1ImagesPerSecond: Double
        /// Largest |batched − one at a time| over every pixel (prompts of different lengths share calls).
        public let largestDifference: Float

        public var speedup: Double { batchedImagesPerSecond / sequentialImagesPerSecond }
        public var bound: Double { pipelineBatch16ImagesPerSecond / pipelineBatch1ImagesPerSecond }

        public var table: String {
            func f(_ x: Double, _ d: Int = 3) -> String { String(format: "%.\(d)f", x) }
            return """
            \(options.jobs) jobs × \(options.count) image(s), one every \(f(stagger)) s, \(threads) threads, max rows per call \(options.maxRows), patience \(options.patience)
            served one at a time (pipeline, batch 1): \(f(sequentialImagesPerSecond)) images/s, mean latency \(f(sequentialMeanLatency, 2)) s
            cross-request batching:                  \(f(batchedImagesPerSecond)) images/s, mean latency \(f(batchedMeanLatency, 2)) s, \(f(rowsPerCall, 1)) rows per call
            batching / one at a time:                \(f(speedup, 2))× (target ≥ 1.3×)
            pipeline batch 16 / batch 1 (the bound): \(f(bound, 2))× (\(f(pipelineBatch16ImagesPerSecond)) vs \(f(pipelineBatch1ImagesPerSecond)) images/s)
            largest pixel difference batched vs alone: \(largestDifference)
            """
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    public func run(pipeline: TextToImagePipeline, log: (String) -> Void = { _ in }) throws -> Result {
        try options.validate()
        if let threads = options.threads { Parallel.threadCount = threads }
        let o = options
        let prompts = pipeline.manifest.classPhrases?.flatMap { $0 } ?? pipeline.manifest.samplePrompts ?? ["an image"]
        let requests = (0..<o.jobs).map { i in
            ImageJobRequest(prompt: prompts[(i * 7) % prompts.count], count: o.count, seed: UInt64(100 + i), steps: o.steps, previews: true)
        }
        func alone(_ r: ImageJobRequest) throws -> Tensor {
            let s = pipeline.settings(steps: r.steps, seed: r.seed)
            return try pipeline.generate(ImageRequest.grid(prompts: [r.prompt], count: r.count, seed: r.seed), settings: s, batchSize: 1)
        }
        // Warm-up (prefills every prompt once for both sides), and one job's time alone.
        for p in Set(requests.map(\.prompt)) { _ = try pipeline.prompts.encode(pipeline.tokens(for: p)) }
        let single = try bestTime(repeats: 1) { _ = try alone(requests[0]) }
        let stagger = o.stagger ?? single / 4
        log("one job alone: \(String(format: "%.3f", single)) s; arrivals every \(String(format: "%.3f", stagger)) s")

        // One at a time: job i starts at max(its arrival, the previous job's end).
        var sequentialImages: [Tensor] = [], latencies: [Double] = []
        let start = now()
        for (i, r) in requests.enumerated() {
            let arrival = Double(i) * stagger
            let wait = arrival - (now() - start)
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            sequentialImages.append(try alone(r))
            latencies.append(now() - start - arrival)
        }
        let sequentialWall = now() - start
        log("one at a time: \(String(format: "%.2f", sequentialWall)) s")

        // Batched: the loop on its own thread, jobs submitted at their arrival times.
        let batcher = ImageJobBatcher(pipeline: pipeline, maxRows: o.maxRows, maxActiveJobs: o.jobs, patience: o.patience)
        let finished = Finished(count: o.jobs)
        let stopped = DispatchSemaphore(value: 0)
        let loop = Thread { batcher.run(); stopped.signal() }
        loop.stackSize = 8 << 20
        let batchStart = now()
        loop.start()
        for (i, r) in requests.enumerated() {
            let wait = Double(i) * stagger - (now() - batchStart)
            if wait > 0 { Thread.sleep(forTimeInterval: wait) }
            batcher.submit(r) { event in
                if case .finished(let images) = event { finished.set(i, images, at: now() - batchStart - Double(i) * stagger) }
                if case .failed(let m) = event { finished.fail(i, m) }
            }
        }
        finished.wait()
        let batchedWall = now() - batchStart
        batcher.stop(cancelRemaining: false)
        stopped.wait()
        if let failure = finished.failure { throw BatchingFailure(description: "a batched job failed: \(failure)") }
        log("batched: \(String(format: "%.2f", batchedWall)) s")
        var largest: Float = 0
        for (i, t) in sequentialImages.enumerated() {
            largest = max(largest, zip(t.toArray(), finished.images[i]!.toArray()).map { abs($0 - $1) }.max() ?? 0)
        }

        // The pipeline's own bound: 16 images at batch 16 against batch 1.
        let bound = ImageRequest.grid(prompts: [prompts[0]], count: 16, seed: 7)
        let settings = pipeline.settings(steps: o.steps, seed: 7)
        let b16 = try bestTime(repeats: 1) { _ = try pipeline.generate(bound, settings: settings, batchSize: 16) }
        let b1 = try bestTime(repeats: 1) { _ = try pipeline.generate(bound, settings: settings, batchSize: 1) }

        let images = Double(o.jobs * o.count)
        return Result(options: o, threads: Parallel.threadCount, stagger: stagger,
                      sequentialImagesPerSecond: images / sequentialWall, batchedImagesPerSecond: images / batchedWall,
                      sequentialMeanLatency: latencies.reduce(0, +) / Double(latencies.count),
                      batchedMeanLatency: finished.latencies.reduce(0, +) / Double(o.jobs),
                      rowsPerCall: batcher.statistics.rowsPerCall,
                      pipelineBatch16ImagesPerSecond: 16 / b16, pipelineBatch1ImagesPerSecond: 16 / b1, largestDifference: largest)
    }

    func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
}

/// A batched job failed: the benchmark's numbers would mean nothing.
public struct BatchingFailure: Error, CustomStringConvertible { public let description: String }

/// The batched jobs' results, filled on the batcher's thread.
private final class Finished: @unchecked Sendable {
    private let lock = NSLock()
    private let done = DispatchSemaphore(value: 0)
    private(set) var images: [Tensor?]
    private(set) var latencies: [Double]
    private(set) var failure: String?
    private let count: Int

    init(count: Int) {
        self.count = count
        images = Array(repeating: nil, count: count)
        latencies = Array(repeating: 0, count: count)
    }

    func set(_ i: Int, _ t: Tensor, at latency: Double) {
        lock.lock(); images[i] = t; latencies[i] = latency; lock.unlock()
        done.signal()
    }

    func fail(_ i: Int, _ message: String) {
        lock.lock(); failure = failure ?? "job \(i): \(message)"; lock.unlock()
        done.signal()
    }

    func wait() { for _ in 0..<count { done.wait() } }
}
