import ArgumentParser
import Foundation
import LatteFlow
import LatteFormats
import LatteKernels

/// `latte train`: trains the generation pathway of a text-to-image model — on class phrases for a
/// labelled image set, on captions for a captioned one — with a frozen backbone and a trained
/// autoencoder (`TextToImageTraining`).
/// Resumable; writes a JSONL log, a loss-curve PNG per group, and exports a ready-to-use model folder
/// at every checkpoint. This file only turns the flags into `TextToImageTrainingOptions`.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a LaTtE-Flow generator (default: Fashion-MNIST class phrases, SmolLM2 backbone).",
        discussion: """
        What the model learns from depends on --data:
          fashion-mnist  class phrases ("a sneaker", "a running shoe", …)
          DIR            class sub-folders: class phrases (folder names, or
                         --class-names × --prompt-template); a DIR/captions.jsonl
                         with captions of its images makes it a captioned set
          FILE.jsonl     captions: one {"image": "relative/path.png",
                         "caption": "…" or ["…", …]} per line
        A class-conditional model records its classes in model.json; a captioned
        one records sample prompts (--sample-prompt, or the first captions of 8
        images spread over the set) for `latte generate --sheet`. Each image
        draws one of its captions (or class phrases) per epoch.

        Every distinct prompt is prefilled through the backbone once per run; a
        table larger than --prompt-cache-memory is kept as f16 in the run folder
        and reused when the run resumes.

        Images: Fashion-MNIST's by default (28×28 grey, --pad 2); images of
        other or mixed sizes need --resolution N (resize, centre crop); the
        channels follow the autoencoder (1 grey, 3 RGB).
        """)

    @Option(help: "'fashion-mnist', a folder of images in class sub-folders (class phrases), or a .jsonl caption file (captions).") var data = "fashion-mnist"
    @Option(help: "Trained autoencoder folder: AutoencoderKL (see `latte train-vae`) or AutoencoderDC, in the diffusers layout.") var autoencoder = "models/fashion-vae"
    @Option(help: "Frozen backbone: asset name, GGUF file or Hugging Face folder (LLaMA family or Qwen2-VL).") var backbone = "smollm2"
    @Option(help: "Where the model folder is exported (at every checkpoint and at the end).") var output = "models/latteflow-fashion"
    @Option(help: "Folder for checkpoints, latents cache, log and loss curve; a checkpoint there is resumed.") var runDir = "runs/latteflow-fashion"
    // The generator's shape: defaults (the committed model's recipe), then --generator-config, then these flags.
    @Option(help: "A JSON file of generator choices (keys as generator.json's: groups, layers_per_group, width, mlp_width, query_heads, patch_size, residual_attention, input_skip, absolute_positions, attention_bias, backbone_layers, boundaries; docs/generator.md, configs/); the flags below override it.")
    var generatorConfig: String?
    @Option(help: "Timestep-expert groups K (1 = vanilla; default \(GeneratorShape().groups)).") var groups: Int?
    @Option(help: "Generation layers per group (default: the paired backbone layers / K; K × this must equal them).") var layersPerGroup: Int?
    @Option(help: "Which backbone layers the generation layers read, one each, in order: all, every:N (0, N, 2N, …), or indices and ranges such as 0-13 or 0-6,14-20 (default all).")
    var backboneLayers: String?
    @Option(help: "Generation width (default \(GeneratorShape().width)).") var width: Int?
    @Option(help: "SwiGLU hidden width (default \(GeneratorShape().mlpWidth)).") var mlpWidth: Int?
    @Option(help: "Residual attention: pre_softmax, post_softmax or off (default \(GeneratorShape().residualAttention.rawValue)).") var residualAttention: String?
    @Option(help: "Where each expert's times end: K + 1 increasing times from 0 (noise) to 1 (data), comma-separated, e.g. 0,0.3,0.5,0.7,0.85,1 for K = 5; group k owns [b_k, b_k+1) in training and sampling (default: uniform, k/K).")
    var groupBoundaries: String?
    @Option(help: "Latent patch size p: each p×p patch is one image token (default \(GeneratorShape().patchSize)).") var patchSize: Int?
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
    @Option(help: "Zero border around each image of a fixed-size set (28 → 32); decoded images are cropped by it. Default 2, or 0 with --resolution.")
    var pad: Int?
    @Option(help: "Resize (shorter side) and centre-crop every image to N×N pixels; needed for images of other or mixed sizes.")
    var resolution: Int?
    @Option(help: "What transparent pixels are flattened onto: white, black or a hex colour RRGGBB.")
    var background = "white"
    @Flag(help: "Flip images left–right: the latent cache holds each image as it is and mirrored, and training draws one per image and epoch.")
    var flip = false
    @Option(help: "A prompt the model's sample sheet draws (`latte generate --sheet`); repeat for several. Default for a captioned set: the first captions of 8 images spread over it.")
    var samplePrompt: [String] = []
    @Option(help: "Megabytes of f32 prompt caches kept in memory; a larger table is written as f16 to the run folder and read per batch.")
    var promptCacheMemory = PromptTable.defaultMemoryBudget / 1_000_000
    @Option(help: "Use only the first N training images (quick experiments).") var limit: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Threads (default: all cores; with --distributed, the cores shared among this machine's ranks).") var threads: Int?
    @Flag(help: "Data-parallel over MPI: launch as `mpirun -np N latte train … --distributed` (or under Slurm's srun); each rank computes its share of every batch, rank 0 writes the run folder (docs/distributed.md). Needs Open MPI.")
    var distributed = false
    @Option(help: "Compute each batch's gradient as the sum of this many shards in shard order: the same count gives the same model on any number of ranks dividing it (default: the resumed checkpoint's, else the number of ranks; without --distributed, the whole batch at once).")
    var gradientShards: Int?
    @Option(help: "With --distributed: check every N steps that the ranks hold the same parameters (0: only at the start).") var checkEvery = 100
    @Option(help: "With --distributed: seconds a rank waits for the others in a collective operation before the job is ended (a rank died or hangs).")
    var collectiveTimeout: Double = 600
    @Flag(help: "Start over even if the run folder holds a checkpoint.") var restart = false
    @Flag(help: "Encode the images again into the run folder's latent cache (latents/), replacing it; a cache made with another autoencoder, image preparation or dataset is refused without this.")
    var rebuildLatents = false
    @Option(help: "Start from these generator weights (a model folder or a .safetensors file) instead of a random initialisation; a checkpoint in the run folder still wins.")
    var initializeFrom: String?
    @Option(help: "For an image folder: a class-name map file (`folder<TAB>name, name…` lines, as ImageNet's synset mapping).")
    var classNames: String?
    @Option(help: "For an image folder: a prompt template with {name}, e.g. \"a photo of a {name}\"; repeat for several (each class's phrases are templates × names).")
    var promptTemplate: [String] = []
    @Option(help: "Query heads of the generation layers, each of the backbone's head size (default: the backbone's K/V heads).") var queryHeads: Int?
    @Flag(help: "Start every generation layer as a copy of the backbone layer it pairs with (needs the backbone's width, MLP width and query heads, e.g. --width 576 --mlp-width 1536 --query-heads 9 for SmolLM2; and --attention-bias for Qwen2-VL).")
    var initializeFromBackbone = false
    @Option(help: "Train only these expert groups, comma-separated and contiguous (e.g. 3,4): t is drawn from their times only, every other parameter (shared embeddings too) stays frozen. Use with --initialize-from.")
    var trainGroups: ExpertGroupList?
    @Flag(inversion: .prefixedNo, help: "Output heads add a learned, timestep-dependent multiple of the input latent (GeneratorConfiguration.inputSkip; default on).")
    var inputSkip: Bool?
    @Flag(inversion: .prefixedNo, help: "Image positions: M-RoPE always; this adds a fixed 2-D sine-cosine table to the image tokens (GeneratorConfiguration.absolutePositions; default on).")
    var absolutePositions: Bool?
    @Flag(inversion: .prefixedNo, help: "Biases on the generation layers' q/k/v projections, as Qwen2(-VL) has (needed to copy its layers with --initialize-from-backbone; default off).")
    var attentionBias: Bool?

    /// Pause after each logged step: gives the SIGKILL-resume test time to kill a real run.
    @Option(help: .hidden) var stepDelayMs = 0
    /// Dataset items per latent-cache shard: small in the test that ranks encode a cache between them.
    @Option(help: .hidden) var latentShardItems: Int?

    func validate() throws {
        if let residualAttention, ResidualAttentionMode(rawValue: residualAttention) == nil {
            throw ValidationError("--residual-attention must be pre_softmax, post_softmax or off")
        }
        _ = try parsedBoundaries()
        if timesteps != "uniform" && timesteps != "logit-normal" { throw ValidationError("--timesteps must be uniform or logit-normal") }
        do { _ = try BackgroundColour(parsing: background) } catch let error as DatasetError { throw ValidationError("--background: \(error.message)") }
        if let pad, let resolution { throw ValidationError("--pad \(pad) borders a fixed-size set; --resolution \(resolution) resizes and crops instead: give one") }
        do { try options().validate() } catch { throw ValidationError("\(error)") }
    }

    /// The image flags as an `ImagePreparation` (channels come from the autoencoder at run time).
    var imagePreparation: ImagePreparation {
        ImagePreparation(resolution: resolution, pad: pad ?? (resolution == nil ? ImagePreparation.fashionMNIST.pad : 0),
                         channels: ImagePreparation.fashionMNIST.channels, background: (try? BackgroundColour(parsing: background)) ?? .white,
                         horizontalFlip: flip)
    }

    /// The flags as the library's options (the generator config file read and merged with the flags).
    func options() throws -> TextToImageTrainingOptions {
        var o = TextToImageTrainingOptions()
        o.data = data
        o.autoencoder = URL(fileURLWithPath: autoencoder)
        o.backbone = backbone
        o.output = URL(fileURLWithPath: output)
        o.runDirectory = URL(fileURLWithPath: runDir)
        o.shape = try GeneratorShape(file: generatorConfig.map { URL(fileURLWithPath: $0) }, flags: shapeFlags)
        o.steps = steps
        o.batch = batch
        o.learningRate = lr
        o.warmup = warmup
        o.timesteps = timesteps == "uniform" ? .uniform : .logitNormal(mean: 0, std: 1)
        o.conditionDropout = conditionDropout
        o.checkpointEvery = checkpointEvery
        o.stopAfter = stopAfter
        o.image = imagePreparation
        o.samplePrompts = samplePrompt
        o.promptCacheMemory = promptCacheMemory * 1_000_000
        o.limit = limit
        o.initializeFromBackbone = initializeFromBackbone
        o.classNames = classNames.map { URL(fileURLWithPath: $0) }
        o.promptTemplates = promptTemplate
        o.seed = seed
        o.restart = restart
        o.rebuildLatents = rebuildLatents
        o.latentShardItems = latentShardItems
        o.initializeFrom = initializeFrom.map { URL(fileURLWithPath: $0) }
        o.trainGroups = trainGroups?.groups
        o.pauseAfterLogging = Double(stepDelayMs) / 1000
        o.gradientShards = gradientShards
        o.checkEvery = checkEvery
        return o
    }

    /// The generator-shape flags given on the command line (nil: not given).
    var shapeFlags: GeneratorShape.Overrides {
        get throws {
            GeneratorShape.Overrides(groups: groups, layersPerGroup: layersPerGroup, width: width, mlpWidth: mlpWidth, queryHeads: queryHeads,
                                     patchSize: patchSize, residualAttention: residualAttention.flatMap(ResidualAttentionMode.init(rawValue:)),
                                     inputSkip: inputSkip, absolutePositions: absolutePositions, attentionBias: attentionBias,
                                     backboneLayers: try backboneLayers.map { try BackboneLayerSelection(parsing: $0) },
                                     boundaries: try parsedBoundaries())
        }
    }

    /// --group-boundaries as numbers (their order and ends are checked with the shape, against K).
    func parsedBoundaries() throws -> [Float]? {
        guard let groupBoundaries else { return nil }
        return try groupBoundaries.split(separator: ",", omittingEmptySubsequences: false).map { part in
            let text = part.trimmingCharacters(in: .whitespaces)
            guard let value = Float(text), value.isFinite else {
                throw ValidationError("--group-boundaries \(groupBoundaries): '\(text)' is not a number (give K + 1 comma-separated times from 0 to 1)")
            }
            return value
        }
    }

    func run() throws {
        var o = try options()
        let group = distributed ? try DistributedLaunch.start(timeout: collectiveTimeout, threads: threads) : nil
        if !distributed, let threads { Parallel.threadCount = threads }
        o.group = group
        let result = try DistributedLaunch.run(group) { try TextToImageTraining.run(o, assets: .fetchIfMissing(log: say), report: say) }
        if group?.isWriter ?? true {
            print("model: \(result.output.relativePath)  loss curve: \(result.lossCurve.path)  log: \(result.log.path)")
        }
        group?.finish()
    }
}
