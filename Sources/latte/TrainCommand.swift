import ArgumentParser
import Foundation
import LatteFlow
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte train`: trains the generation pathway of a class-conditional text-to-image model on a
/// labelled image set, with a frozen backbone and a trained autoencoder. Resumable; writes a JSONL log,
/// a loss-curve PNG per group, and exports a ready-to-use model folder at every checkpoint.
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train", abstract: "Train a LaTtE-Flow generator (default: Fashion-MNIST class phrases, SmolLM2 backbone).")

    @Option(help: "'fashion-mnist' (labels become class phrases).") var data = "fashion-mnist"
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
    @Option(help: "Timestep distribution: logit-normal or uniform.") var timesteps = "logit-normal"
    @Option(help: "Probability of dropping a row's prompt to the null prompt.") var conditionDropout: Float = 0.1
    @Option(help: "Checkpoint (and export) every N steps.") var checkpointEvery = 500
    @Option(help: "Stop after this step of the --steps schedule (checkpoint and export there); running again with a larger value or without continues. For an early point of a run, e.g. an autoguidance guide.")
    var stopAfter: Int?
    @Option(help: "Zero padding around each image (28 → 32).") var pad = 2
    @Option(help: "Use only the first N training images (quick experiments).") var limit: Int?
    @Option(help: "Random seed.") var seed: UInt64 = 0
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Start over even if the run folder holds a checkpoint.") var restart = false
    @Option(help: "Start from these generator weights (a model folder or a .safetensors file) instead of a random initialisation; a checkpoint in the run folder still wins.")
    var initializeFrom: String?
    @Option(help: "Train only these expert groups, comma-separated and contiguous (e.g. 3,4): t is drawn from their times only, every other parameter (shared embeddings too) stays frozen. Use with --initialize-from.")
    var trainGroups: ExpertGroupList?
    @Flag(inversion: .prefixedNo, help: "Output heads add a learned, timestep-dependent multiple of the input latent (GeneratorConfiguration.inputSkip).")
    var inputSkip = true
    @Flag(inversion: .prefixedNo, help: "Add a fixed 2-D sine-cosine position table to the image tokens (GeneratorConfiguration.absolutePositions).")
    var absolutePositions = true

    func validate() throws {
        if steps < 1 || batch < 1 || groups < 1 { throw ValidationError("--steps, --batch and --groups must be at least 1") }
        if let stopAfter, stopAfter < 1 || stopAfter > steps { throw ValidationError("--stop-after must be between 1 and --steps (\(steps))") }
        if ResidualAttentionMode(rawValue: residualAttention) == nil { throw ValidationError("--residual-attention must be pre_softmax, post_softmax or off") }
        if timesteps != "logit-normal" && timesteps != "uniform" { throw ValidationError("--timesteps must be logit-normal or uniform") }
        if !(0...1).contains(conditionDropout) { throw ValidationError("--condition-dropout must lie in [0, 1]") }
        if trainGroups != nil && initializeFrom == nil {
            throw ValidationError("--train-groups fine-tunes some experts of a trained model: give its weights with --initialize-from")
        }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        guard data == "fashion-mnist" else { throw ValidationError("--data: only fashion-mnist has class phrases so far") }
        let say = { (s: String) in FileHandle.standardError.write(Data((s + "\n").utf8)) }
        let runURL = URL(fileURLWithPath: runDir)
        try FileManager.default.createDirectory(at: runURL, withIntermediateDirectories: true)

        let vae = try AutoencoderKL.load(directory: URL(fileURLWithPath: autoencoder))
        let (lm, tokenizer) = try TextToImagePipeline.loadBackbone(backbone)
        let bc = lm.configuration
        let c = GeneratorConfiguration(backbone: backbone, layerCount: bc.layerCount, kvHeads: bc.kvHeadCount, headDim: bc.headDim,
                                       width: width, queryHeads: bc.kvHeadCount, mlpWidth: mlpWidth, groups: groups,
                                       residualAttention: ResidualAttentionMode(rawValue: residualAttention)!,
                                       latentChannels: vae.configuration.latent_channels,
                                       latentHeight: (28 + 2 * pad) / vae.configuration.downsamplingFactor,
                                       latentWidth: (28 + 2 * pad) / vae.configuration.downsamplingFactor,
                                       patchSize: 1, ropeTheta: bc.ropeTheta, inputSkip: inputSkip,
                                       absolutePositions: absolutePositions)
        try c.validate()
        let model = try LayerwiseTimestepExperts(c, seed: seed)
        if let initializeFrom { try loadInitialWeights(into: model, from: initializeFrom, say: say) }
        let groupList = trainGroups?.groups
        if let groupList { try model.trainOnly(groups: groupList) }
        // Sampling defaults: the default model's sweep (models/latteflow-fashion/README.md) found Heun with 15
        // steps and guidance 2 best for FID at the cost of Euler with 30.
        let manifest = TextToImageManifest(backbone: backbone, autoencoder: "autoencoder", promptStartToken: "<|im_start|>", crop: pad,
                                           defaultSteps: 15, defaultGuidance: 2, defaultSolver: .heun,
                                           classNames: IDXDataset.fashionMNISTClasses, classPhrases: ClassPrompts.fashionMNIST)
        let pipeline = try TextToImagePipeline(manifest: manifest, generator: model, autoencoder: vae, tokenizer: tokenizer, backbone: lm)

        // Latents of the training set, cached against the autoencoder's weights.
        var dataset = try ImageDataSource.dataset(data, split: .train)
        if let limit { dataset = try DatasetPrefix(base: dataset, count: limit) }
        let latents = try LatentCache.latents(vae: vae, vaeFolder: URL(fileURLWithPath: autoencoder), dataset: dataset, pad: pad,
                                              cache: runURL.appendingPathComponent("latents.safetensors"), say: say)
        let labels = try (0..<dataset.count).map { try dataset.item(at: $0).label }
        let phrases = try ClassPrompts.fashionMNIST.map { try $0.map { try pipeline.prompts.encode(try pipeline.tokens(for: $0)) } }
        let null = try pipeline.prompts.encode(pipeline.nullTokens)
        say("prompt caches: \(pipeline.prompts.prefills) prefills (\(ClassPrompts.fashionMNIST.flatMap { $0 }.count) phrases + null)")
        var stream = try LabelledLatentData(latents: latents, labels: labels, phrases: phrases, batchSize: batch, seed: seed)

        var distribution: TimestepDistribution = timesteps == "uniform" ? .uniform : .logitNormal(mean: 0, std: 1)
        if let groupList {
            let (lower, upper) = try c.timeInterval(groups: groupList)
            distribution = .uniformWithin(lower: lower, upper: upper)
            say("training groups \(groupList.map(String.init).joined(separator: ", ")) only: t uniform in [\(lower), \(upper)), \(model.parameterCount(trainableOnly: true)) of \(model.parameterCount()) parameters trainable")
        }
        let settings = TrainingSettings(steps: steps, learningRate: lr, warmupSteps: warmup, cosine: true, minimumLearningRate: lr / 20,
                                        conditionDropout: conditionDropout,
                                        timesteps: distribution,
                                        checkpointEvery: checkpointEvery, seed: seed)
        let trainer = GeneratorTrainer(model: model, settings: settings, nullPrompt: null)
        let checkpointURL = runURL.appendingPathComponent("checkpoint"), logURL = runURL.appendingPathComponent("log.jsonl")
        if restart {
            try? FileManager.default.removeItem(at: checkpointURL)
            try? FileManager.default.removeItem(at: logURL)
        } else if Checkpoint.exists(at: checkpointURL) {
            try trainer.resume(from: checkpointURL, data: &stream)
            say("resuming \(runDir) at step \(trainer.step)")
        }
        let parameters = model.namedParameters().reduce(0) { $0 + $1.1.value.count }
        say("training \(groups) groups × \(c.layersPerGroup) layers, width \(width) (\(parameters) parameters): \(steps) steps × \(batch) latents, \(Parallel.threadCount) threads")

        let log = try TrainingLog(url: logURL, resumingAt: trainer.step)
        defer { log.close() }
        let end = stopAfter ?? steps
        var progress = TrainingProgress(total: end, startingAt: trainer.step, label: "train")
        while trainer.step < end {
            let s = try trainer.trainStep(&stream)
            try log.append(StepRecord(s))
            if !s.applied { say("\nstep \(s.step) skipped: non-finite loss \(s.loss) or gradient norm \(s.gradientNorm)") }
            progress.update(step: s.step, fields: [("loss", String(format: "%.4f", s.loss)), ("lr", String(format: "%.1e", s.learningRate))])
            if s.step % checkpointEvery == 0 || s.step == end {
                try trainer.saveCheckpoint(to: checkpointURL, data: stream)
                try export(trainer: trainer, manifest: manifest, autoencoderFolder: URL(fileURLWithPath: autoencoder))
                // Only groups that trained (all but with --train-groups) get a curve.
                try LossCurvePlot.write((0..<groups).map { .init(name: "group \($0)", points: TrainingLog.series(in: logURL, x: "step", y: "g\($0)")) }
                                            .filter { !$0.points.isEmpty },
                                        to: runURL.appendingPathComponent("loss.png").path)
            }
        }
        print("model: \(output)  loss curve: \(runURL.appendingPathComponent("loss.png").path)  log: \(logURL.path)")
    }

    /// Loads generator weights from a model folder (its manifest's weights file) or a safetensors file.
    func loadInitialWeights(into model: LayerwiseTimestepExperts, from path: String, say: (String) -> Void) throws {
        var url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw ValidationError("--initialize-from \(path): no such file or folder")
        }
        if isDirectory.boolValue {
            let saved = try TextToImagePipeline.generatorFiles(in: url)
            guard saved.configuration == model.configuration else {
                throw ValidationError("--initialize-from \(path): its generator configuration differs from this run's (check --width, --groups, --mlp-width)")
            }
            url = saved.weights
        }
        try model.loadSafetensors(url, strict: true)
        say("initialised from \(url.path)")
    }

    /// Writes the model folder with the EMA weights in f16 beside a copy of the autoencoder, replacing
    /// the previous export only once the new one is complete.
    func export(trainer: GeneratorTrainer, manifest: TextToImageManifest, autoencoderFolder: URL) throws {
        let fm = FileManager.default
        let target = URL(fileURLWithPath: output), staging = URL(fileURLWithPath: output + ".partial")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        try manifest.save(to: staging.appendingPathComponent("model.json"))
        try trainer.model.configuration.save(to: staging.appendingPathComponent("generator.json"))
        trainer.ema.swapWithParameters()
        defer { trainer.ema.swapWithParameters() }
        try trainer.model.saveSafetensors(staging.appendingPathComponent("generator.safetensors"),
                                          metadata: ["step": "\(trainer.step)"], dtype: .float16)
        try fm.copyItem(at: autoencoderFolder, to: staging.appendingPathComponent(manifest.autoencoder))
        // Two renames: at every moment either the old or the new export is complete on disk.
        let old = URL(fileURLWithPath: output + ".old")
        try? fm.removeItem(at: old)
        if fm.fileExists(atPath: target.path) { try fm.moveItem(at: target, to: old) }
        try fm.moveItem(at: staging, to: target)
        try? fm.removeItem(at: old)
    }
}

/// One line of the training log: flat, so each group's loss is its own column.
struct StepRecord: Encodable {
    let step: Int, loss: Float, learningRate: Float, gradientNorm: Float, applied: Bool, seconds: Double
    let groups: [Float?]
    init(_ s: TrainingStep) {
        step = s.step; loss = s.loss; learningRate = s.learningRate; gradientNorm = s.gradientNorm
        applied = s.applied; seconds = s.seconds; groups = s.groupLosses
    }
    enum Keys: CodingKey { case step, loss, lr, grad_norm, applied, seconds; case group(Int)
        var stringValue: String {
            switch self {
            case .step: return "step"; case .loss: return "loss"; case .lr: return "lr"; case .grad_norm: return "grad_norm"
            case .applied: return "applied"; case .seconds: return "seconds"; case .group(let k): return "g\(k)"
            }
        }
        init?(stringValue: String) { return nil }
        var intValue: Int? { nil }
        init?(intValue: Int) { return nil }
    }
    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: Keys.self)
        try c.encode(step, forKey: .step); try c.encode(loss, forKey: .loss); try c.encode(learningRate, forKey: .lr)
        try c.encode(gradientNorm, forKey: .grad_norm); try c.encode(applied, forKey: .applied); try c.encode(seconds, forKey: .seconds)
        for (k, v) in groups.enumerated() { if let v { try c.encode(v, forKey: .group(k)) } }
    }
}
