import LatteFormats
import LatteTensor

/// One image job for `ImageJobBatcher`: `count` images of one prompt, image j from the noise of
/// `seed + j` (as `TextToImagePipeline.generate`), with the model's defaults for every setting not given.
public struct ImageJobRequest: Equatable, Sendable {
    public var prompt: String
    public var count: Int
    public var seed: UInt64
    public var steps: Int?
    /// Classifier-free guidance w (1 = off); nil = the model's default.
    public var guidance: Float?
    /// Autoguidance weight (1 = off); nil = the model's default when it has a guide.
    public var guideWeight: Float?
    public var solver: FlowSolver?
    /// Whether `.step` events carry previews (`LatentPreview`): cheap, but not free at large sizes.
    public var previews: Bool

    public init(prompt: String, count: Int = 1, seed: UInt64 = 0, steps: Int? = nil, guidance: Float? = nil,
                guideWeight: Float? = nil, solver: FlowSolver? = nil, previews: Bool = true) {
        self.prompt = prompt
        self.count = count
        self.seed = seed
        self.steps = steps
        self.guidance = guidance
        self.guideWeight = guideWeight
        self.solver = solver
        self.previews = previews
    }
}

/// A job's handle: unique within one batcher, increasing in submission order.
public struct ImageJobID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt64
    public init(_ value: UInt64) { self.value = value }
    public static func < (a: ImageJobID, b: ImageJobID) -> Bool { a.value < b.value }
    public var description: String { "job-\(value)" }
}

/// What happens to a job, in order: `.started` once (its prompt is prefilled and it joins the batch),
/// then `.step` after every solver step, then exactly one of `.finished`, `.failed` or `.cancelled`
/// (a job that fails or is cancelled before it starts gets only that). Delivered on the thread that
/// runs the batcher, outside its lock; a handler must not block for long (it delays every job).
public enum ImageJobEvent: Sendable {
    case started
    /// Step `step` of `totalSteps` done (the time grid's steps: group boundaries may add some to the
    /// requested count). `previews`: one per image of the job (the clean-image estimate through the
    /// model's `LatentPreview`), empty when the request asked for none.
    case step(Int, of: Int, previews: [Image])
    /// The job's images [count, C, H, W] in [−1, 1], exactly as `TextToImagePipeline.generate` returns
    /// them (decoded and cropped).
    case finished(Tensor)
    case failed(String)
    case cancelled

    /// Whether no event follows this one.
    public var isFinal: Bool {
        switch self {
        case .started, .step: return false
        case .finished, .failed, .cancelled: return true
        }
    }
}
