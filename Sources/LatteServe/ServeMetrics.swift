import Foundation
import Prometheus

/// The server's Prometheus metrics (`GET /metrics`): queue depth, jobs by state, images and tokens
/// generated, and how long sampling steps take.
public final class ServeMetrics: @unchecked Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let queueDepth: Gauge
    private let jobs: [JobBoard.State: Gauge]
    private let jobsSubmitted: Counter
    private let images: Counter
    private let tokens: Counter
    private let chatRequests: Counter
    private let stepSeconds: ValueHistogram

    public init() {
        queueDepth = registry.makeGauge(name: "latte_queue_depth", help: "Image jobs waiting to run.")
        var jobs: [JobBoard.State: Gauge] = [:]
        for state in [JobBoard.State.queued, .running, .done, .failed, .cancelled] {
            jobs[state] = registry.makeGauge(name: "latte_jobs", labels: [("state", state.rawValue)],
                                             help: "Image jobs in each state (finished jobs are counted until they are forgotten).")
        }
        self.jobs = jobs
        jobsSubmitted = registry.makeCounter(name: "latte_jobs_submitted_total", help: "Image jobs accepted.")
        images = registry.makeCounter(name: "latte_images_generated_total", help: "Images generated.")
        tokens = registry.makeCounter(name: "latte_tokens_generated_total", help: "Chat completion tokens generated.")
        chatRequests = registry.makeCounter(name: "latte_chat_completions_total", help: "Chat completions answered.")
        stepSeconds = registry.makeValueHistogram(name: "latte_sampling_step_seconds",
                                                  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
                                                  help: "Seconds per image sampling step (one batch).")
    }

    func jobSubmitted() {
        jobsSubmitted.increment()
        jobs[.queued]?.increment()
    }

    func jobMoved(from: JobBoard.State, to: JobBoard.State) {
        jobs[from]?.decrement()
        jobs[to]?.increment()
    }

    func imagesGenerated(_ n: Int) { images.increment(by: Int64(n)) }
    func tokensGenerated(_ n: Int) { tokens.increment(by: Int64(n)) }
    func chatCompleted() { chatRequests.increment() }
    public func stepFinished(seconds: Double) { stepSeconds.record(seconds) }

    /// The Prometheus text exposition, with the queue depth read now.
    public func render(queueDepth depth: Int) -> String {
        queueDepth.set(Double(depth))
        return registry.emitToString()
    }
}
