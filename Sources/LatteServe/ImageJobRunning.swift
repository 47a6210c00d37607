import Foundation
import LatteFormats

/// What the HTTP layer needs from whatever samples images: queue a request and hear about it, cancel it,
/// and see how many jobs wait. `SerialImageJobRunner` runs one job at a time; a cross-request batching
/// engine can replace it behind this protocol without touching the routes.
///
/// Contract for implementations:
/// - `submit` validates what it can without compute (prompt tokenisation, step count) and throws
///   `ImageJobRejection` — `.invalid` for a bad field, `.queueFull` when `maxQueue` jobs already wait —
///   or queues the job and returns its id at once. It never runs model compute on the caller's thread.
/// - `events` is called from the runner's own thread, in order, for that job only: `.queued` first,
///   then `.started`, any `.step` / `.preview`, and exactly one terminal event (`.done`, `.failed` or
///   `.cancelled`). It must return quickly.
/// - `cancel` of a queued job ends it at once with `.cancelled`; of a running job, at its next sampling
///   step. It returns false for an unknown or finished job.
/// - `shutdown` cancels everything queued and running (each job gets its terminal event) and accepts
///   no more work.
public protocol ImageJobRunning: AnyObject, Sendable {
    func submit(_ request: ImageJobRequest, events: @escaping @Sendable (ImageJobEvent) -> Void) throws -> String
    @discardableResult func cancel(_ id: String) -> Bool
    /// Jobs waiting (not counting any running).
    var queueDepth: Int { get }
    func shutdown()
}

/// One image job: `count` images of `prompt`, image i from seed `seed + i`.
public struct ImageJobRequest: Sendable, Equatable {
    public var prompt: String
    public var count: Int
    public var seed: UInt64
    /// Sampler overrides; nil takes the model's default (model.json).
    public var steps: Int?
    public var guidance: Float?
    /// How many partial images to send during sampling (0: none): decodes of the current clean-image
    /// estimate at evenly spaced steps.
    public var partialImages: Int

    public init(prompt: String, count: Int = 1, seed: UInt64 = 0, steps: Int? = nil, guidance: Float? = nil, partialImages: Int = 0) {
        (self.prompt, self.count, self.seed, self.steps, self.guidance, self.partialImages) = (prompt, count, seed, steps, guidance, partialImages)
    }
}

/// What happens to a job, in order (see `ImageJobRunning`).
public enum ImageJobEvent: Sendable {
    case queued(position: Int)
    case started
    /// Sampling step `step` of `of` finished, after `seconds`.
    case step(step: Int, of: Int, seconds: Double)
    /// Partial images (the current estimate of the final images) after step `step` of `of`.
    case preview(step: Int, of: Int, index: Int, images: [Image])
    case done(images: [Image], seconds: Double)
    case failed(message: String)
    case cancelled

    public var isTerminal: Bool {
        switch self {
        case .done, .failed, .cancelled: return true
        default: return false
        }
    }
}

/// Why `submit` refused a job.
public enum ImageJobRejection: Error, Equatable, CustomStringConvertible {
    /// `maxQueue` jobs already wait; try again after about `retryAfter` seconds.
    case queueFull(waiting: Int, retryAfter: Int)
    /// A request field the runner cannot honour (e.g. a prompt longer than the backbone's context).
    case invalid(field: String, message: String)
    case shuttingDown

    public var description: String {
        switch self {
        case .queueFull(let waiting, _): return "the queue is full (\(waiting) jobs waiting); retry later"
        case .invalid(_, let message): return message
        case .shuttingDown: return "the server is shutting down"
        }
    }
}
