import ArgumentParser
import Foundation
import LatteEval
import LatteFlow
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN

/// `latte train-like`: fine-tunes a model folder's generator to draw from image prompts (`latte generate
/// --like`), keeping its text prompts (`ImagePromptTraining`; docs/vision.md). A command of its own rather
/// than an option of `latte train`: it starts from a trained model folder (not an autoencoder and a
/// backbone), needs the vision weights and the image encoder, and has its own data (pairs of images,
/// a pool of prompt images) and outputs; `latte train`'s other flags (shapes, captions, distributed)
/// do not apply to it. This file turns the flags into `ImagePromptTrainingOptions` and supplies the
/// frozen image encoder (EfficientNet-Lite0 through `VisionFeatureCache`).
struct TrainLikeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-like", abstract: "Fine-tune a model's generator on image prompts (another image of the prompt image's class) for `latte generate --like`.",
        discussion: """
        Each image step pairs every target latent B with a prompt image A of the
        same Fashion-MNIST class (never B itself), drawn afresh; the prompt is
        the vision path's user turn with A's image tokens and the instruction,
        through the frozen SmolLM2 and projector. --text-fraction of the steps
        keep the model's class phrases. The prompt images' keys and values are
        prefilled once (f16 file in the run folder when over the memory budget).
        """)

    @Option(help: "The model folder whose generator is fine-tuned (class-conditional Fashion-MNIST).") var model = defaultModelFolder
    @Option(help: "A folder with the vision weights (vision.json + vision.safetensors); default: --model's own.") var vision: String?
    @Option(help: "Where the fine-tuned model folder is written (with the vision weights; at every checkpoint and at the end).") var output = "runs/latteflow-like/model"
    @Option(help: "Folder for checkpoints, caches, log and loss curve; a checkpoint there is resumed.") var runDir = "runs/latteflow-like"
    @Option(help: "The latent cache folder (default: RUN-DIR/latents); `latte train`'s, e.g. runs/latteflow-fashion/latents, is reused when it matches.") var latents: String?
    @Option(help: "Prompt images per class: the first N training images of each class, prefilled once.") var promptImagesPerClass = 300
    @Option(help: "Share of the steps that keep the class phrases as prompts, in [0, 1).") var textFraction = 0.5
    @Option(help: "Optimisation steps.") var steps = 4_000
    @Option(help: "Stop (checkpoint, export) at this step of the schedule; a later run continues.") var stopAfter: Int?
    @Option(help: "Latents per step.") var batch = 32
    @Option(help: "Peak learning rate (cosine decay to a twentieth).") var lr: Float = 1e-4
    @Option(help: "Warm-up steps.") var warmup = 200
    @Option(help: "Probability of dropping a row's prompt to the null prompt.") var conditionDropout: Float = 0.1
    @Option(help: "Decay of the exported exponential moving average.") var emaDecay: Float = 0.999
    @Option(help: "Checkpoint (and export) every N steps.") var checkpointEvery = 250
    @Option(help: "Only the first N training images (targets and prompt images; smoke runs).") var limit: Int?
    @Option(help: "The instruction after the image in every image prompt.") var instruction = ImagePromptEncoder.defaultInstruction
    @Option(help: "Guidance for image prompts recorded in model.json (used when `generate --like` has no --cfg).") var defaultGuidance: Float = 2
    @Option(help: "Bytes of f32 prompt caches kept in memory; more go to f16 files in the run folder.") var promptCacheMemory = PromptTable.defaultMemoryBudget
    @Option(help: "Seed (data order, pairs, noise).") var seed: UInt64 = 0
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Start over even if the run folder holds a checkpoint.") var restart = false
    @Option(help: .hidden) var pauseAfterLogging: Double = 0

    func options() -> ImagePromptTrainingOptions {
        var o = ImagePromptTrainingOptions()
        o.model = URL(fileURLWithPath: model)
        o.vision = vision.map { URL(fileURLWithPath: $0) }
        o.output = URL(fileURLWithPath: output)
        o.runDirectory = URL(fileURLWithPath: runDir)
        o.latents = latents.map { URL(fileURLWithPath: $0) }
        (o.promptImagesPerClass, o.textFraction, o.steps, o.stopAfter, o.batch) = (promptImagesPerClass, textFraction, steps, stopAfter, batch)
        (o.learningRate, o.warmup, o.conditionDropout, o.emaDecay, o.checkpointEvery) = (lr, warmup, conditionDropout, emaDecay, checkpointEvery)
        (o.limit, o.instruction, o.defaultGuidance, o.promptCacheMemory, o.seed, o.restart) = (limit, instruction, defaultGuidance, promptCacheMemory, seed, restart)
        o.pauseAfterLogging = pauseAfterLogging
        return o
    }

    func validate() throws {
        do { try options().validate() } catch let e as TrainingError { throw ValidationError(e.message) }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let started = Date()
        let o = options()
        let visionFolder = o.vision ?? o.model
        guard VisionModelConfiguration.present(in: visionFolder) else {
            throw CommandFailure("\(visionFolder.path) has no vision weights (\(VisionModelConfiguration.fileName) + vision.safetensors): train them with `latte train-vision --output \(visionFolder.path)`, or name a folder that has them with --vision DIR")
        }
        let (configuration, _) = try VisionModelConfiguration.load(folder: visionFolder)
        guard configuration.encoder == EfficientNetLiteWeights.assetName else {
            throw CommandFailure("\(visionFolder.path)/vision.json names the encoder '\(configuration.encoder)'; this build knows \(EfficientNetLiteWeights.assetName)")
        }
        let cache = try VisionFeatureCache(encoder: try EfficientNetLite.load(inputSize: configuration.inputSize, log: say), grid: configuration.grid)
        let result: ImagePromptTraining.Result
        do {
            result = try ImagePromptTraining.run(o, assets: .fetchIfMissing(log: say), encodeImages: { images in
                var bar = TrainingProgress(total: images.shape[0], label: "encode prompt images")
                return try cache.tokens(of: images, half: true, log: say) { done, _ in bar.update(step: done, fields: []) }
            }, report: say)
        } catch let e as TrainingError { throw CommandFailure(e.message) }
        print(String(format: "model: %@  loss curve: %@  log: %@  (%.0f s)", result.output.path, result.lossCurve.path, result.log.path, Date().timeIntervalSince(started)))
        print("draw from an image: latte generate --model \(result.output.path) --like IMAGE.png; measure: latte eval like --model \(result.output.path)")
    }
}
