import ArgumentParser
import Foundation
import LatteFlow
import LatteKernels

/// `latte train`: trains the generation pathway of a class-conditional text-to-image model on a
/// labelled image set, with a frozen backbone and a trained autoencoder (`TextToImageTraining`).
/// Resumable; writes a JSONL log, a loss-curve PNG per group, and exports a ready-to-use model folder
/// at every checkpoint. This file only turns the flags into `TextToImageTrainingOptions`.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a LaTtE-Flow generator (default: Fashion-MNIST class phrases, SmolLM2 backbone).")

    @Option(help: "'fashion-mnist' (labels become class phrases) or a folder of images in class sub-folders (folder names become the phrases).") var data = "fashion-mnist"
    @Option(help: "Trained autoencoder folder (see `latte train-vae`).") var autoencoder = "models/fashion-vae"
    @Option(help: "Frozen backbone: asset name, GGUF file or Hugging Face folder.") var backbone = "smollm2"
    @Option(help: "Where the model folder is exported (at every checkpoint and at the end).") var output = "models/latteflow-fashion"
    @Option(help: "Folder for checkpoints, latents cache, log and loss curve; a checkpoint there is resumed.") var runDir = "runs/latteflow-fashion"
    @Option(help: "Timestep-expert groups K (1 = vanilla).") var groups = 5
    @Option(help: "Generation width (3 query heads of the backbone's head size attend regardless).") var width = 128
    @Option(help: "SwiGLU hidden width.") var mlpWidth = 384
    @Option(help: "Residual attention: pre_softmax, post_softmax or off.") var residualAttention = "pre_softmax"
    @Option(help: "Optimisation steps.") var steps = 20_000
    @Option(help: "Latents per step.") var batch = 32
    @Option(help: "Peak learning rate.") var lr: Float = 5e-4
    @Option(help: "Warm-up steps.") var warmup = 500
    @Option(help: "Timestep distribution: uniform (the committed model's recipe: each of the K experts sees a K-th of the samples) or logit-normal (σ(N(0, 1)): the outer experts see few).")
    var timesteps = "uniform"
    @Option(help: "Probability of dropping a row's prompt to the null prompt.") var conditionDropout: Float = 0.1
    @Option(help: "Checkpoint (and export) every N steps (0: only at the end).") var checkpointEvery = 500
    @Option(help: "Stop after this step of the --steps schedule (checkpoint and export there); running again with a larger value or without continues. For an early point of a run, e.g. an autoguidance guide.")
    var stopAfter: Int?
    @Option(help: "Zero padding around each image (28 → 32).") var pad = 2
    @Option(help: "Use only the first N training images (quick experiments).") var limit: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Start over even if the run folder holds a checkpoint.") var restart = false
    @Flag(help: "Encode the images again into the run folder's latent cache (latents/), replacing it; a cache made with another autoencoder, image preparation or dataset is refused without this.")
    var rebuildLatents = false
    @Option(help: "Start from these generator weights (a model folder or a .safetensors file) instead of a random initialisation; a checkpoint in the run folder still wins.")
    var initializeFrom: String?
    @Option(help: "For an image folder: a class-name map file (`folder<TAB>name, name…` lines, as ImageNet's synset mapping).")
    var classNames: String?
    @Option(help: "For an image folder: a prompt template with {name}, e.g. \"a photo of a {name}\"; repeat for several (each class's phrases are templates × names).")
    var promptTemplate: [String] = []
    @Option(help: "Query heads of the generation layers (default: the backbone's K/V heads).") var queryHeads: Int?
    @Flag(help: "Start every generation layer as a copy of its backbone layer (needs the backbone's width, MLP width and query heads, e.g. --width 576 --mlp-width 1536 --query-heads 9 for SmolLM2).")
    var initializeFromBackbone = false
    @Option(help: "Train only these expert groups, comma-separated and contiguous (e.g. 3,4): t is drawn from their times only, every other parameter (shared embeddings too) stays frozen. Use with --initialize-from.")
    var trainGroups: ExpertGroupList?
    @Flag(inversion: .prefixedNo, help: "Output heads add a learned, timestep-dependent multiple of the input latent (GeneratorConfiguration.inputSkip).")
    var inputSkip = true
    @Flag(inversion: .prefixedNo, help: "Add a fixed 2-D sine-cosine position table to the image tokens (GeneratorConfiguration.absolutePositions).")
    var absolutePositions = true

    /// Pause after each logged step: gives the SIGKILL-resume test time to kill a real run.
    @Option(help: .hidden) var stepDelayMs = 0

    func validate() throws {
        if ResidualAttentionMode(rawValue: residualAttention) == nil { throw ValidationError("--residual-attention must be pre_softmax, post_softmax or off") }
        if timesteps != "uniform" && timesteps != "logit-normal" { throw ValidationError("--timesteps must be uniform or logit-normal") }
        do { try options.validate() } catch { throw ValidationError("\(error)") }
    }

    /// The flags as the library's options.
    var options: TextToImageTrainingOptions {
        var o = TextToImageTrainingOptions()
        o.data = data
        o.autoencoder = URL(fileURLWithPath: autoencoder)
        o.backbone = backbone
        o.output = URL(fileURLWithPath: output)
        o.runDirectory = URL(fileURLWithPath: runDir)
        o.shape = GeneratorShape(groups: groups, width: width, mlpWidth: mlpWidth,
                                 residualAttention: ResidualAttentionMode(rawValue: residualAttention) ?? .preSoftmax,
                                 inputSkip: inputSkip, absolutePositions: absolutePositions, queryHeads: queryHeads)
        o.steps = steps
        o.batch = batch
        o.learningRate = lr
        o.warmup = warmup
        o.timesteps = timesteps == "uniform" ? .uniform : .logitNormal(mean: 0, std: 1)
        o.conditionDropout = conditionDropout
        o.checkpointEvery = checkpointEvery
        o.stopAfter = stopAfter
        o.pad = pad
        o.limit = limit
        o.initializeFromBackbone = initializeFromBackbone
        o.classNames = classNames.map { URL(fileURLWithPath: $0) }
        o.promptTemplates = promptTemplate
        o.seed = seed
        o.restart = restart
        o.rebuildLatents = rebuildLatents
        o.initializeFrom = initializeFrom.map { URL(fileURLWithPath: $0) }
        o.trainGroups = trainGroups?.groups
        o.pauseAfterLogging = Double(stepDelayMs) / 1000
        return o
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let result = try TextToImageTraining.run(options, assets: .fetchIfMissing(log: say), report: say)
        print("model: \(result.output.relativePath)  loss curve: \(result.lossCurve.path)  log: \(result.log.path)")
    }
}
