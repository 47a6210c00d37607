import Foundation
import LatteFlow
import LatteFormats
import LatteModels
import LatteTensor

/// The first `ImageJobRunning`: jobs run one at a time, first come first served, on one dedicated
/// thread (never on the HTTP event loops), each job's images sampled together in one batch with
/// `TextToImagePipeline.generate`. Cancellation is checked after every sampling step.
public final class SerialImageJobRunner: ImageJobRunning, @unchecked Sendable {
    public let model: ServedModel
    public let maxQueue: Int
    /// Largest `count` per job, and largest step count, accepted.
    public static let maxImages = 10
    public static let maxSteps = 1000
    private let gate: ComputeGate
    private let onStepSeconds: @Sendable (Double) -> Void

    private struct Job: WaitingImageJob {
        let id: String
        let request: ImageJobRequest
        let events: @Sendable (ImageJobEvent) -> Void
    }

    private let condition = NSCondition()
    private var waiting = WaitingImageJobs<Job>()
    private var runningID: String?
    private var cancelRunning = false
    private var stopped = false
    /// Seconds the last finished job took, for Retry-After.
    private var lastJobSeconds = 1.0
    private var thread: Thread?

    /// `onStepSeconds` hears every sampling step's duration (metrics).
    public init(model: ServedModel, maxQueue: Int, gate: ComputeGate, onStepSeconds: @escaping @Sendable (Double) -> Void = { _ in }) {
        self.model = model
        self.maxQueue = maxQueue
        self.gate = gate
        self.onStepSeconds = onStepSeconds
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "latte-serve-images"
        thread.stackSize = 16 << 20
        self.thread = thread
        thread.start()
    }

    public var queueDepth: Int {
        condition.lock()
        defer { condition.unlock() }
        return waiting.count
    }

    public func submit(_ request: ImageJobRequest, events: @escaping @Sendable (ImageJobEvent) -> Void) throws -> String {
        try Self.validate(request, model: model)
        let job = Job(id: WaitingImageJobs<Job>.newID(), request: request, events: events)
        condition.lock()
        if stopped { condition.unlock(); throw ImageJobRejection.shuttingDown }
        guard waiting.count < maxQueue else {
            let retry = max(1, Int((lastJobSeconds * Double(waiting.count + 1)).rounded(.up)))
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
        guard runningID == id else { return false }
        cancelRunning = true
        return true
    }

    public func shutdown() {
        condition.lock()
        stopped = true
        let dropped = waiting.removeAll()
        if runningID != nil { cancelRunning = true }
        condition.broadcast()
        condition.unlock()
        for job in dropped { job.events(.cancelled) }
    }

    /// What can be checked without compute: counts, steps, and that the prompt tokenises and fits the
    /// backbone's context (shared with `BatchingImageJobRunner`).
    static func validate(_ r: ImageJobRequest, model: ServedModel) throws {
        guard (1...Self.maxImages).contains(r.count) else {
            throw ImageJobRejection.invalid(field: "n", message: "n must be between 1 and \(Self.maxImages), got \(r.count)")
        }
        if let steps = r.steps, !(1...Self.maxSteps).contains(steps) {
            throw ImageJobRejection.invalid(field: "steps", message: "steps must be between 1 and \(Self.maxSteps), got \(steps)")
        }
        if let g = r.guidance, !g.isFinite || g < 0 || g > 100 {
            throw ImageJobRejection.invalid(field: "guidance", message: "guidance must be a number between 0 and 100, got \(g)")
        }
        guard (0...10).contains(r.partialImages) else {
            throw ImageJobRejection.invalid(field: "partial_images", message: "partial_images must be between 0 and 10, got \(r.partialImages)")
        }
        let tokens: [Int]
        do { tokens = try model.pipeline.tokens(for: r.prompt) } catch {
            throw ImageJobRejection.invalid(field: "prompt", message: "the prompt cannot be used: \(error)")
        }
        // The backbone prefills the prompt: longer than its context, it would fail only once the job ran.
        do { try model.backbone.languageModel.check(tokens) } catch {
            throw ImageJobRejection.invalid(field: "prompt", message: "the prompt is too long for the model: \(error)")
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while waiting.isEmpty && !stopped { condition.wait() }
            if waiting.isEmpty && stopped { condition.unlock(); return }
            let job = waiting.takeFirst(1)[0]
            runningID = job.id
            cancelRunning = stopped
            condition.unlock()

            let started = Date()
            job.events(.started)
            let outcome = run(job)
            let seconds = Date().timeIntervalSince(started)
            condition.lock()
            runningID = nil
            if case .done = outcome { lastJobSeconds = seconds }
            condition.unlock()
            job.events(outcome)
        }
    }

    private var isCancelled: Bool {
        condition.lock()
        defer { condition.unlock() }
        return cancelRunning
    }

    /// Samples one job; returns its terminal event.
    private func run(_ job: Job) -> ImageJobEvent {
        let r = job.request
        let pipeline = model.pipeline
        let started = Date()
        do {
            let settings = pipeline.settings(steps: r.steps, guidance: r.guidance, seed: r.seed)
            let grid = try FlowSampler.timeGrid(settings: settings, configuration: pipeline.generator.configuration)
            let total = grid.count - 1
            let previewSteps = Self.previewSteps(total: total, count: r.partialImages)
            let seeds = (0..<r.count).map { r.seed &+ UInt64($0) }
            var previous = r.partialImages > 0 ? Tensor.concat(seeds.map(pipeline.noise(seed:)), axis: 0) : nil
            var stepStart = Date()
            var previewIndex = 0
            var cancelled = false
            let images: Tensor = try gate.run {
                try pipeline.generate(prompts: Array(repeating: r.prompt, count: r.count), settings: settings, seeds: seeds) { p in
                    let seconds = Date().timeIntervalSince(stepStart)
                    self.onStepSeconds(seconds)
                    job.events(.step(step: p.step, of: total, seconds: seconds))
                    if let prev = previous {
                        if previewSteps.contains(p.step) && p.step < total {
                            let estimate = Self.cleanEstimate(previous: prev, latent: p.latent, from: grid[p.step - 1], to: grid[p.step])
                            job.events(.preview(step: p.step, of: total, index: previewIndex, images: ImageTensors.images(pipeline.decode(estimate))))
                            previewIndex += 1
                        }
                        previous = p.latent
                    }
                    if self.isCancelled { cancelled = true; return false }
                    self.gate.yield()
                    stepStart = Date()
                    return true
                }
            }
            if cancelled || isCancelled { return .cancelled }
            return .done(images: ImageTensors.images(images), seconds: Date().timeIntervalSince(started))
        } catch {
            return .failed(message: "\(error)")
        }
    }

    /// `count` steps spread evenly over `1..<total` (the last step's image is the final one).
    static func previewSteps(total: Int, count: Int) -> Set<Int> {
        guard count > 0, total > 1 else { return [] }
        return Set((1...count).map { max(1, min(total - 1, Int((Double($0) * Double(total) / Double(count + 1)).rounded()))) })
    }

    /// The clean latent the sampler is heading for: the step's velocity v = (x_t1 − x_t0) / (t1 − t0)
    /// carried to t = 1 (data), x̂ = x_t1 + (1 − t1)·v. Exact for an Euler step's velocity.
    static func cleanEstimate(previous: Tensor, latent: Tensor, from t0: Float, to t1: Float) -> Tensor {
        guard t1 > t0 else { return latent }
        let v = (latent - previous) * (1 / (t1 - t0))
        return (latent + v * (1 - t1)).contiguous()
    }
}
