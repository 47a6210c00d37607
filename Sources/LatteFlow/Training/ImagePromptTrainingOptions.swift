import Foundation
import LatteNN

/// Everything a `latte train-like` run is asked for (`ImagePromptTraining`), with its defaults.
public struct ImagePromptTrainingOptions {
    /// The class-conditional Fashion-MNIST model folder whose generator is fine-tuned (its autoencoder,
    /// class phrases, guide and sampling defaults carry over).
    public var model = URL(fileURLWithPath: "models/latteflow-fashion")
    /// Where the vision weights (vision.json + its safetensors) come from; nil: the model folder's own.
    public var vision: URL?
    /// Where the fine-tuned model folder is written (at every checkpoint and at the end).
    public var output = URL(fileURLWithPath: "runs/latteflow-like/model")
    /// Checkpoint, latent cache, prompt caches, log and loss curve; a checkpoint there is resumed.
    public var runDirectory = URL(fileURLWithPath: "runs/latteflow-like")
    /// The latent cache folder (nil: `latents` in the run folder); `latte train`'s own (e.g.
    /// runs/latteflow-fashion/latents) is reused when it was made with the same autoencoder and images.
    public var latents: URL?
    /// Prompt images per class: the first N training images of each class, their image prompts prefilled once.
    public var promptImagesPerClass = 300
    /// Share of the steps that keep text prompts (the model's class phrases), so text conditioning stays.
    public var textFraction = 0.5
    public var steps = 4_000
    public var batch = 32
    /// Peak learning rate (a fine-tune: a fifth of `latte train`'s), cosine decay to a twentieth after warm-up.
    public var learningRate: Float = 1e-4
    public var warmup = 200
    public var conditionDropout: Float = 0.1
    public var emaDecay: Float = 0.999
    public var checkpointEvery = 250
    public var stopAfter: Int?
    /// Only the first N training images (targets and prompt images; tests and smoke runs).
    public var limit: Int?
    public var seed: UInt64 = 0
    public var restart = false
    /// The instruction after the image in every image prompt.
    public var instruction = ImagePromptEncoder.defaultInstruction
    /// model.json's guidance for image prompts when `--cfg` is not given.
    public var defaultGuidance: Float = 2
    /// Bytes of f32 prompt caches kept in memory (image prompts and class phrases each); more goes to f16 files.
    public var promptCacheMemory = PromptTable.defaultMemoryBudget
    /// Seconds to pause after logging each step (tests that kill a run).
    public var pauseAfterLogging: Double = 0

    public init() {}

    /// Checks what needs no file; messages name `latte train-like`'s flags.
    public func validate() throws {
        func fail(_ message: String) -> Error { TrainingError(message: message) }
        if steps < 1 || batch < 1 { throw fail("--steps and --batch must be at least 1") }
        if let stopAfter, stopAfter < 1 || stopAfter > steps { throw fail("--stop-after must be between 1 and --steps (\(steps))") }
        if promptImagesPerClass < 2 { throw fail("--prompt-images-per-class must be at least 2 (a target is never its own prompt)") }
        if !(textFraction >= 0 && textFraction < 1) { throw fail("--text-fraction must lie in [0, 1) (1 would never train image prompts)") }
        if !(learningRate > 0) { throw fail("--lr must be positive") }
        if warmup < 0 || checkpointEvery < 0 { throw fail("--warmup and --checkpoint-every must not be negative") }
        if !(0...1).contains(conditionDropout) { throw fail("--condition-dropout must lie in [0, 1]") }
        if !(emaDecay >= 0 && emaDecay < 1) { throw fail("--ema-decay must lie in [0, 1)") }
        if !(defaultGuidance >= 0 && defaultGuidance.isFinite) { throw fail("--default-guidance must be a finite number ≥ 0") }
        if let limit, limit < 2 { throw fail("--limit must be at least 2") }
        if instruction.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { throw fail("--instruction must not be empty") }
        if promptCacheMemory < 0 { throw fail("--prompt-cache-memory must not be negative") }
    }
}
