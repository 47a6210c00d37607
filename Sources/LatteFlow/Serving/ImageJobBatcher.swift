import Foundation
import LatteTensor

/// Serves concurrent image jobs by cross-request batching over the timestep experts
/// (docs/serving-engine.md).
///
/// At every step a LaTtE-Flow row runs only the expert group owning its current time, so rows of
/// different jobs — started at different times, at different steps, with different prompts and step
/// counts — can share a network call whenever their times fall in the same group. Each `tick()`:
///
/// 1. takes cancellations (the job's rows leave at once; `.cancelled`) and admits waiting jobs up to
///    `maxActiveJobs` (prompt prefilled, starting noise drawn; `.started`, or `.failed` for a bad
///    request);
/// 2. groups the active jobs by the expert group owning each job's next evaluation time and, per group,
///    runs the conditional rows and the null-prompt guidance rows of all its jobs in ONE call of the
///    generator (prompt caches of different lengths right-padded and masked, as `PromptCache.stack`),
///    and the autoguidance rows in one call of the guide per guide group;
/// 3. advances every served job by one evaluation: an Euler step, or one of Heun's two stages (the
///    second evaluates at the step's end time, possibly in another group, and joins that group's call
///    in the next tick); a completed step sends `.step(k, of: n, previews:)`, the last one decodes
///    the job's images (`.finished`).
///
/// A call holds at most `maxRows` rows (a job's rows are chunked when one job alone needs more); when a
/// group's jobs need more rows than that, the jobs that waited longest go first (round-robin), the
/// others wait for the next tick. With `patience` > 0 only the fullest group runs, plus groups with a
/// job that has waited that many ticks: calls grow into convoys, latency grows too.
///
/// A job's images equal `pipeline.generate(prompts: count × [prompt], settings:, seeds: seed, seed+1, …)`
/// for the same settings: bit for bit when the jobs sharing its calls have prompts of its token length
/// and every call on both sides holds at least two rows (a CFG job's generator calls do; the guide's
/// call of a one-image job does not); else within float rounding
/// (a one-row call computes the per-row conditioning by GEMV instead of GEMM, and a longer prompt in the
/// call moves where the image keys sit in the attention sums). docs/serving-engine.md says more.
///
/// Threads: `submit`, `cancel`, `validate`, `stop` and the counters may be called from any thread.
/// `tick()` and `run()` must be driven from ONE thread, which is also where every event is delivered;
/// while it runs, nothing else may use the pipeline's generator, guide, backbone or autoencoder.
///
///     let batcher = ImageJobBatcher(pipeline: pipeline, maxRows: 16)
///     Thread { batcher.run() }.start()
///     let id = batcher.submit(ImageJobRequest(prompt: "a sneaker", count: 2, seed: 7)) { event in … }
///     batcher.cancel(id)
///     batcher.stop(cancelRemaining: false)     // run() returns once every job has finished
public final class ImageJobBatcher: @unchecked Sendable {
    public let pipeline: TextToImagePipeline
    /// Most rows in one network call.
    public let maxRows: Int
    /// Most jobs sampled at once; more wait, in submission order.
    public let maxActiveJobs: Int
    /// The preview map (`LatentPreview`), fitted once when the batcher is made.
    public let preview: LatentPreview
    /// Ticks a job may wait for its group to fill before the group runs anyway; 0 = every group with
    /// jobs runs every tick (the lowest latency). See `schedule()`.
    public let patience: Int

    /// Guarded by `condition`: what other threads hand to the loop.
    private let condition = NSCondition()
    private var waiting: [PendingImageJob] = []
    private var cancelRequests: Set<ImageJobID> = []
    private var nextID: UInt64 = 1
    private var stopping: (cancelRemaining: Bool, requested: Bool) = (false, false)
    private var activeCount = 0
    private var totals = Statistics()
    private var ticking = false

    /// Loop-thread state.
    var active: [ActiveImageJob] = []
    var tickCount = 0

    /// - maxRows: the bound on rows per network call (at least 1).
    /// - maxActiveJobs: defaults to `maxRows`.
    /// - preview: defaults to `pipeline.fitLatentPreview()` (four decodes).
    /// - patience: 0 runs every group every tick; p > 0 runs the fullest group and any group with a job
    ///   that waited p ticks (larger calls, longer latency).
    public init(pipeline: TextToImagePipeline, maxRows: Int = 16, maxActiveJobs: Int? = nil, preview: LatentPreview? = nil,
                patience: Int = 0) {
        precondition(maxRows >= 1, "maxRows must be at least 1, got \(maxRows)")
        precondition(patience >= 0, "patience must be at least 0, got \(patience)")
        self.patience = patience
        self.pipeline = pipeline
        self.maxRows = maxRows
        self.maxActiveJobs = max(maxActiveJobs ?? maxRows, 1)
        self.preview = preview ?? pipeline.fitLatentPreview()
    }

    // MARK: - Any thread

    /// Checks a request without queueing it (count, steps, guidance values, the prompt's token count):
    /// what `submit` would report as `.failed`, for a caller that wants to refuse it up front.
    public func validate(_ request: ImageJobRequest) throws {
        guard request.count >= 1, request.count <= maxRows else {
            throw GeneratorError.invalidInput("count must be between 1 and \(maxRows) (the batcher's rows per call), got \(request.count)")
        }
        if let steps = request.steps, steps < 1 || steps > 1000 { throw GeneratorError.invalidInput("steps must be between 1 and 1000, got \(steps)") }
        if let g = request.guidance, !g.isFinite { throw GeneratorError.invalidInput("guidance must be a finite number, got \(g)") }
        if let g = request.guideWeight, !g.isFinite { throw GeneratorError.invalidInput("guideWeight must be a finite number, got \(g)") }
        _ = try pipeline.promptTokens.tokens(for: request.prompt)
    }

    /// Queues a job; it joins the batch at the next tick with room. Events arrive on the loop thread.
    @discardableResult
    public func submit(_ request: ImageJobRequest, onEvent: @escaping @Sendable (ImageJobEvent) -> Void) -> ImageJobID {
        condition.lock()
        let id = ImageJobID(nextID)
        nextID += 1
        if stopping.requested {
            condition.unlock()
            onEvent(.failed("the image batcher is shutting down"))
            return id
        }
        waiting.append(PendingImageJob(id: id, request: request, onEvent: onEvent))
        condition.signal()
        condition.unlock()
        return id
    }

    /// Asks for a job to be cancelled: at the next tick its rows leave the batch and it gets
    /// `.cancelled` (unless it finished first). Returns false for an id that is not queued or running.
    @discardableResult
    public func cancel(_ id: ImageJobID) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        let known = waiting.contains { $0.id == id } || activeIDs.contains(id)
        if known {
            cancelRequests.insert(id)
            condition.signal()
        }
        return known
    }

    /// Totals since the batcher was made (for metrics): ticks that ran a call, network calls, the rows
    /// they held, completed solver steps and finished jobs.
    public struct Statistics: Sendable, Equatable {
        public var ticks = 0, calls = 0, rows = 0, steps = 0, jobsEnded = 0
        /// Mean rows per network call.
        public var rowsPerCall: Double { calls == 0 ? 0 : Double(rows) / Double(calls) }
    }

    public var statistics: Statistics { condition.lock(); defer { condition.unlock() }; return totals }

    /// Jobs waiting to start, and jobs being sampled.
    public var queuedJobs: Int { condition.lock(); defer { condition.unlock() }; return waiting.count }
    public var activeJobs: Int { condition.lock(); defer { condition.unlock() }; return activeCount }

    /// The 0-based place of a waiting job in the queue; nil when it is not waiting.
    public func queuePosition(of id: ImageJobID) -> Int? {
        condition.lock(); defer { condition.unlock() }
        return waiting.firstIndex { $0.id == id }
    }

    /// Ends `run()`: with `cancelRemaining`, every queued or running job is cancelled at the next tick;
    /// without, queued and running jobs are finished first. New submissions fail from now on.
    public func stop(cancelRemaining: Bool) {
        condition.lock()
        stopping = (cancelRemaining || stopping.cancelRemaining, true)
        condition.signal()
        condition.unlock()
    }

    // Ids the loop has admitted and not yet ended (for `cancel`'s answer); guarded by `condition`.
    private var activeIDs: Set<ImageJobID> = []

    // MARK: - The loop thread

    /// Ticks until `stop` and then until nothing is left (or cancelled), sleeping while idle.
    public func run() {
        while true {
            if tick() { continue }
            condition.lock()
            while waiting.isEmpty && cancelRequests.isEmpty && !stopping.requested { condition.wait() }
            let done = stopping.requested && waiting.isEmpty && activeCount == 0
            condition.unlock()
            if done { return }
        }
    }

    /// Takes what other threads handed over: cancellations and admissions. Returns the jobs to admit
    /// (up to `maxActiveJobs`) and the ids to cancel.
    func takeHandoffs() -> (admit: [PendingImageJob], cancelled: [PendingImageJob], cancelActive: Set<ImageJobID>) {
        condition.lock()
        defer { condition.unlock() }
        if stopping.cancelRemaining {
            cancelRequests.formUnion(waiting.map(\.id))
            cancelRequests.formUnion(activeIDs)
        }
        let cancelledWaiting = waiting.filter { cancelRequests.contains($0.id) }
        waiting.removeAll { cancelRequests.contains($0.id) }
        let cancelActive = cancelRequests.subtracting(cancelledWaiting.map(\.id))
        cancelRequests = []
        let room = max(maxActiveJobs - (activeCount - cancelActive.intersection(activeIDs).count), 0)
        let admit = Array(waiting.prefix(room))
        waiting.removeFirst(admit.count)
        for job in admit { activeIDs.insert(job.id) }
        return (admit, cancelledWaiting, cancelActive)
    }

    /// Records the loop's view of its jobs for the counters and `cancel`.
    func publish(ended: [ImageJobID], report: ImageJobTick) {
        condition.lock()
        if !report.calls.isEmpty { totals.ticks += 1 }
        totals.calls += report.calls.count
        totals.rows += report.calls.map(\.rows).reduce(0, +)
        totals.steps += report.stepsCompleted
        totals.jobsEnded += report.jobsEnded
        for id in ended { activeIDs.remove(id) }
        activeCount = active.count
        condition.unlock()
    }

    func setTicking(_ on: Bool) {
        condition.lock()
        precondition(!(on && ticking), "ImageJobBatcher.tick() called from two threads at once")
        ticking = on
        condition.unlock()
    }
}

/// A submitted job not yet admitted.
struct PendingImageJob {
    let id: ImageJobID
    let request: ImageJobRequest
    let onEvent: @Sendable (ImageJobEvent) -> Void
}
