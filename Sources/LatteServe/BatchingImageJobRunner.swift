import Foundation
import LatteFlow
import LatteFormats
import LatteModels
import LatteTensor

/// The server's cross-request batching `ImageJobRunning`: concurrent image jobs are sampled together by
/// `ImageJobBatcher` (docs/serving-engine.md), which groups the rows of every running job by the expert
/// group that owns its current time and runs each group's rows in one network call.
///
/// One dedicated thread drives the batcher tick by tick, taking the shared `ComputeGate` for each tick
/// and giving it up between ticks, so a chat request waits at most one tick. Up to `maxActiveJobs` jobs
/// are sampled at once; more wait here, first come first served, and `maxQueue` of them may wait (one
/// more is `.queueFull`). Jobs wait in this runner rather than in the batcher so that cancelling a
/// waiting job ends it at once; a running job's cancellation reaches the batcher, whose rows for it
/// leave the batch at the next tick.
///
/// A job's images are `TextToImagePipeline.generate`'s for the same prompt, settings and seeds — to the
/// bit when the jobs sharing its calls have prompts of its token length and every call holds at least
/// two rows, else within float rounding (see `ImageJobBatcher`). Partial images are the batcher's cheap
/// `LatentPreview` of the clean-image estimate, not an autoencoder decode.
public final class BatchingImageJobRunner: ImageJobRunning, @unchecked Sendable {
    public let model: ServedModel
    public let maxQueue: Int
    /// Jobs sampled at once (the batcher's `maxActiveJobs`).
    public let maxActiveJobs: Int
    let batcher: ImageJobBatcher
    private let gate: ComputeGate
    private let onStepSeconds: @Sendable (Double) -> Void

    /// A job from `submit` to its terminal event. `batcherID`, `started`, `previewIndex` are touched by
    /// the loop thread only (and `batcherID` under `condition` by `cancel`).
    private final class Job: WaitingImageJob, @unchecked Sendable {
        let id: String
        let request: ImageJobRequest
        let events: @Sendable (ImageJobEvent) -> Void
        var batcherID: ImageJobID?
        var started: Date?
        var previewIndex = 0
        init(id: String, request: ImageJobRequest, events: @escaping @Sendable (ImageJobEvent) -> Void) {
            (self.id, self.request, self.events) = (id, request, events)
        }
    }

    private let condition = NSCondition()
    /// Jobs not yet handed to the batcher, in submission order.
    private var waiting = WaitingImageJobs<Job>()
    /// Jobs handed to the batcher and not yet ended.
    private var admitted: [String: Job] = [:]
    private var stopped = false
    /// Seconds the last finished job took from start to images, for Retry-After.
    private var lastJobSeconds = 1.0
    /// When the running tick started (loop thread only): `.step` events report the tick's duration.
    private var tickStarted = Date()

    /// - maxRows: most rows in one network call (a job's `n` images, twice that with classifier-free
    ///   guidance); `n` may not exceed it.
    /// - maxActiveJobs: jobs sampled at once; default `maxRows`.
    /// - onStepSeconds: hears every tick's duration (metrics: one batched step).
    public init(model: ServedModel, maxQueue: Int, gate: ComputeGate, maxRows: Int = 16, maxActiveJobs: Int? = nil,
                onStepSeconds: @escaping @Sendable (Double) -> Void = { _ in }) {
        precondition(maxRows >= 1, "maxRows must be at least 1, got \(maxRows)")
        self.model = model
        self.maxQueue = maxQueue
        self.maxActiveJobs = max(maxActiveJobs ?? maxRows, 1)
        self.gate = gate
        self.onStepSeconds = onStepSeconds
        // Fitting the preview map decodes a few latents: nothing else uses the model yet.
        batcher = ImageJobBatcher(pipeline: model.pipeline, maxRows: maxRows, maxActiveJobs: self.maxActiveJobs)
        // The thread keeps the runner alive until `shutdown` lets it return.
        let thread = Thread { self.loop() }
        thread.name = "latte-serve-batcher"
        thread.stackSize = 16 << 20
        thread.start()
    }

    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting.count
    }

    /// The batcher's totals (ticks, calls, rows per call, steps).
    public var statistics: ImageJobBatcher.Statistics { batcher.statistics }

    public func submit(_ request: ImageJobRequest, events: @escaping @Sendable (ImageJobEvent) -> Void) throws -> String {
        try SerialImageJobRunner.validate(request, model: model)
        guard request.count <= batcher.maxRows else {
            throw ImageJobRejection.invalid(field: "n", message: "n must be at most \(batcher.maxRows) (the server's --max-batch-rows), got \(request.count)")
        }
        do { try batcher.validate(Self.batcherRequest(request)) } catch {
            throw ImageJobRejection.invalid(field: "prompt", message: "the request cannot be sampled: \(error)")
        }
        let job = Job(id: WaitingImageJobs<Job>.newID(), request: request, events: events)
        condition.lock()
        if stopped { condition.unlock(); throw ImageJobRejection.shuttingDown }
        // Jobs beyond the free batch slots are the queue; a burst that arrives between two ticks is not
        // refused while slots are free.
        let queued = waiting.count - max(maxActiveJobs - admitted.count, 0)
        guard queued < maxQueue else {
            let rounds = (waiting.count + maxActiveJobs) / maxActiveJobs
            let retry = max(1, Int((lastJobSeconds * Double(rounds)).rounded(.up)))
            let depth = waiting.count
            condition.unlock()
            throw ImageJobRejection.queueFull(waiting: depth, retryAfter: retry)
        }
        waiting.append(job)
        condition.signal()
        condition.unlock()
        return job.id
    }

    @discardableResult public func cancel(_ id: String) -> Bool {
        condition.lock()
        if let job = waiting.remove(id: id) {
            condition.unlock()
            job.events(.cancelled)
            return true
        }
        defer { condition.unlock() }
        guard let bid = admitted[id]?.batcherID else { return false }
        // The batcher drops the job's rows at its next tick and reports `.cancelled`.
        return batcher.cancel(bid)
    }

    public func shutdown() {
        condition.lock()
        stopped = true
        let dropped = waiting.removeAll()
        for job in admitted.values { if let bid = job.batcherID { batcher.cancel(bid) } }
        condition.broadcast()
        condition.unlock()
        for job in dropped { job.events(.cancelled) }
    }

    /// The engine's request for a server request: the model's defaults for what is not given, previews
    /// only when partial images are wanted.
    static func batcherRequest(_ r: ImageJobRequest) -> LatteFlow.ImageJobRequest {
        LatteFlow.ImageJobRequest(prompt: r.prompt, count: r.count, seed: r.seed, steps: r.steps, guidance: r.guidance, previews: r.partialImages > 0)
    }

    // MARK: - The loop thread

    private func loop() {
        while true {
            condition.lock()
            while waiting.isEmpty && admitted.isEmpty && !stopped { condition.wait() }
            if stopped && waiting.isEmpty && admitted.isEmpty { condition.unlock(); return }
            // Hand waiting jobs to the batcher while it has room; it admits them at this tick.
            let room = max(maxActiveJobs - admitted.count, 0)
            let handed = waiting.takeFirst(room)
            for job in handed {
                admitted[job.id] = job
                job.batcherID = batcher.submit(Self.batcherRequest(job.request)) { [self] event in handle(event, of: job) }
            }
            condition.unlock()

            tickStarted = Date()
            let report = gate.run { batcher.tickReport() }
            if !report.calls.isEmpty { onStepSeconds(Date().timeIntervalSince(tickStarted)) }
            // The gate is first come, first served: a chat request waiting now goes before the next tick.
            if !report.didWork {
                // Nothing ran although jobs are admitted (cannot happen while the batcher admits what it
                // is handed; guards against spinning if it ever does).
                condition.lock()
                if waiting.isEmpty && !admitted.isEmpty { _ = condition.wait(until: Date().addingTimeInterval(0.005)) }
                condition.unlock()
            }
        }
    }

    /// A batcher event as the server's events (loop thread, inside the tick: must be quick).
    private func handle(_ event: LatteFlow.ImageJobEvent, of job: Job) {
        switch event {
        case .started:
            job.started = Date()
            job.events(.started)
        case .step(let step, let total, let previews):
            job.events(.step(step: step, of: total, seconds: Date().timeIntervalSince(tickStarted)))
            if !previews.isEmpty && step < total && SerialImageJobRunner.previewSteps(total: total, count: job.request.partialImages).contains(step) {
                job.events(.preview(step: step, of: total, index: job.previewIndex, images: previews))
                job.previewIndex += 1
            }
        case .finished(let images):
            let seconds = Date().timeIntervalSince(job.started ?? Date())
            end(job, lastSeconds: seconds)
            job.events(.done(images: ImageTensors.images(images), seconds: seconds))
        case .failed(let message):
            end(job, lastSeconds: nil)
            job.events(.failed(message: message))
        case .cancelled:
            end(job, lastSeconds: nil)
            job.events(.cancelled)
        }
    }

    private func end(_ job: Job, lastSeconds: Double?) {
        condition.lock()
        admitted[job.id] = nil
        if let lastSeconds { lastJobSeconds = lastSeconds }
        condition.signal()
        condition.unlock()
    }
}
