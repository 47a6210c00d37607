import ArgumentParser
import Foundation
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte train-vae`: trains an AutoencoderKL-shaped model on an image dataset in the one training loop
/// (`TrainingRun`: checkpoints, resume, progress, the JSONL log) and draws a loss-curve PNG; the EMA weights are saved as a diffusers folder
/// with the latent scaling measured on training images. The data sources and the image preparation
/// (`ImagePreparation`: resolution or pad, background, flip) are those of `latte train`, so a generator
/// trained on the same `--data` with the same options sees the images this autoencoder was fitted to.
struct TrainVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-vae", abstract: "Train an AutoencoderKL on an image dataset (default: Fashion-MNIST padded to 32×32).")

    @Option(help: "'fashion-mnist', 'emoji' (EmojiOne + Twemoji, its training split), a .jsonl caption file, or a folder of images in class sub-folders.") var data = "fashion-mnist"
    @Option(help: "An AutoencoderKL config.json (default: the small Fashion-MNIST autoencoder, 32×32×1 → 8×8×8); its in_channels says grey (1) or RGB (3).") var config: String?
    @Option(help: "Channels of the built-in configuration: 1 (grey) or 3 (RGB); with --config or --init-from the configuration's in_channels decides.") var channels: Int?
    @Option(help: "Resize (shorter side, bicubic) and centre-crop every image to N×N; without it images keep their size and get --pad.") var resolution: Int?
    @Option(help: "Colour transparent pixels are flattened onto: white, black or RRGGBB.") var background = "white"
    @Flag(help: "Flip images left–right with probability ½.") var flip = false
    @Option(help: "Where the trained model (EMA weights, diffusers layout) is written.") var output = "models/fashion-vae"
    @Option(help: "Folder for checkpoints, the JSONL log and the loss curve; an existing checkpoint there is resumed.") var runDir = "runs/fashion-vae"
    @Option(help: "Latent channels of the built-in configuration (ignored with --config).") var latentChannels = 8
    @Option(help: "Optimisation steps.") var steps = 4800
    @Option(help: "Images per step.") var batch = 16
    @Option(help: "Peak learning rate (cosine decay after warm-up).") var lr: Float = 1e-3
    @Option(help: "Warm-up steps.") var warmup = 200
    @Option(help: "Weight of the L1 term (MSE has weight 1).") var l1: Float = 0.1
    @Option(help: "Weight of the KL term, per latent element.") var kl: Float = 1e-6
    @Option(help: "Zero padding around each image when there is no --resolution (default 2: Fashion-MNIST 28 → 32).") var pad: Int?
    @Option(help: "Checkpoint every N steps.") var checkpointEvery = 250
    @Option(help: "Random seed (weights, data order, posterior samples).") var seed: UInt64 = 0
    @Option(help: "Storage type of the saved model: f32 or f16.") var dtype = "f16"
    @Option(help: "Threads (default: all cores; with --distributed, the cores shared among this machine's ranks).") var threads: Int?
    @Flag(help: "Data-parallel over MPI: launch as `mpirun -np N latte train-vae … --distributed` (or under Slurm's srun); each rank computes its share of every batch, rank 0 writes the run folder and the model (docs/distributed.md). Needs Open MPI.")
    var distributed = false
    @Option(help: "Compute each batch's gradient as the sum of this many shards in shard order: the same count gives the same model on any number of ranks dividing it (default: the resumed checkpoint's, else the number of ranks; without --distributed, the whole batch at once).")
    var gradientShards: Int?
    @Option(help: "With --distributed: check every N steps that the ranks hold the same parameters (0: only at the start).") var checkEvery = 100
    @Option(help: "With --distributed: seconds a rank waits for the others in a collective operation before the job is ended (a rank died or hangs).")
    var collectiveTimeout: Double = 600
    @Flag(help: "Start over even if the run folder holds a checkpoint.") var restart = false
    @Option(help: "Start from this trained autoencoder folder (its config and weights) instead of random weights.") var initFrom: String?
    @Flag(help: "Fine-tune the decoder only (needs --init-from): the encoder and the latent scaling stay as they are, so latents cached for a generator stay valid.") var decoderOnly = false
    @Option(help: "With --decoder-only: largest standard deviation of the noise added to the scaled latents (each image draws u·σ, u uniform).") var decoderNoise: Float = 0.5

    func validate() throws {
        if steps < 1 { throw ValidationError("--steps must be at least 1") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if !(lr > 0) { throw ValidationError("--lr must be positive") }
        if dtype != "f32" && dtype != "f16" { throw ValidationError("--dtype must be f32 or f16, got \(dtype)") }
        if decoderOnly && initFrom == nil { throw ValidationError("--decoder-only fine-tunes a trained autoencoder: give it with --init-from") }
        if decoderNoise < 0 { throw ValidationError("--decoder-noise must not be negative") }
        if let channels, channels != 1 && channels != 3 { throw ValidationError("--channels must be 1 (grey) or 3 (RGB), got \(channels)") }
        if channels != nil && (config != nil || initFrom != nil) {
            throw ValidationError("--channels sets the built-in configuration; with --config or --init-from the configuration's in_channels decides")
        }
        if let gradientShards, gradientShards < 1 { throw ValidationError("--gradient-shards must be at least 1") }
        if checkEvery < 0 { throw ValidationError("--check-every must not be negative") }
        if !(collectiveTimeout > 0) { throw ValidationError("--collective-timeout must be positive") }
        if resolution != nil && pad != nil { throw ValidationError("--pad borders images of their own size; with --resolution they are resized and cropped instead: give one") }
        _ = try preparation(channels: 1)
    }

    /// How images become pixels: `--resolution` (resize + crop) or the dataset's own size with `--pad`
    /// (default 2, Fashion-MNIST's); channels from the autoencoder.
    func preparation(channels: Int) throws -> ImagePreparation {
        let colour: BackgroundColour
        do { colour = try BackgroundColour(parsing: background) } catch { throw ValidationError("--background: \(error)") }
        let p = ImagePreparation(resolution: resolution, pad: resolution == nil ? (pad ?? 2) : 0, channels: channels,
                                 background: colour, horizontalFlip: flip)
        do { try p.validate() } catch let error as DatasetError { throw ValidationError(error.message) }
        return p
    }

    /// The small autoencoder of the default model: 1 channel, blocks 32/64/64 (×4 down), latent 8×8×8.
    /// Eight latent channels rather than four: with four, this model reached 24.3 dB on the test set
    /// half-way through a 45-minute run (docs/autoencoders.md), far from the 28 dB wanted; the generator
    /// only sees 64 tokens of 8 values instead of 4.
    static func smallConfiguration(latentChannels: Int = 8, channels: Int = 1, sampleSize: Int = 32) -> AutoencoderKLConfiguration {
        var c = AutoencoderKLConfiguration()
        c.inChannels = channels
        c.outChannels = channels
        c.blockOutChannels = [32, 64, 64]
        c.layersPerBlock = 1
        c.latentChannels = latentChannels
        c.normNumGroups = 8
        c.sampleSize = sampleSize
        c.scalingFactor = 1
        return c
    }

    func run() throws {
        let group = distributed ? try DistributedLaunch.start(timeout: collectiveTimeout, threads: threads) : nil
        if !distributed, let threads { Parallel.threadCount = threads }
        try DistributedLaunch.run(group) { try train(group: group) }
        group?.finish()
    }

    /// One rank's run (the whole run without --distributed): every rank trains in step; rank 0 alone
    /// reports, writes the run folder, measures the latent scaling and saves the model.
    func train(group: MPIProcessGroup?) throws {
        let isWriter = group?.isWriter ?? true
        let model: AutoencoderKL
        if let initFrom {
            if config != nil { throw ValidationError("--config and --init-from both give the configuration: choose one") }
            model = try AutoencoderKL.load(directory: URL(fileURLWithPath: initFrom))
        } else {
            let configuration: AutoencoderKLConfiguration
            if let config {
                do { configuration = try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: config))) }
                catch { throw ValidationError("--config \(config): \(error)") }
            } else {
                configuration = Self.smallConfiguration(latentChannels: latentChannels, channels: channels ?? 1, sampleSize: resolution ?? 32)
            }
            model = try AutoencoderKL(configuration, seed: seed)
        }
        let settings = AutoencoderTrainingSettings(steps: steps, batchSize: batch, learningRate: lr, warmupSteps: warmup,
                                                   l1Weight: l1, klWeight: kl, decoderOnly: decoderOnly, decoderNoise: decoderNoise, seed: seed)
        let say: @Sendable (String) -> Void = { s in if isWriter { FileHandle.standardError.write(Data((s + "\n").utf8)) } }
        let preparation = try preparation(channels: model.configuration.inChannels)
        // Rank 0 opens the dataset first (fetching a missing asset into the shared cache) while the others wait.
        if let group, !isWriter { try group.barrier("rank 0 opening the dataset", timeout: .infinity) }
        let dataset = try ImageDataSource.dataset(data, split: .train)
        if let group, isWriter { try group.barrier("rank 0 opening the dataset", timeout: .infinity) }
        // A corrupt or unreadable image is reported once, left out, and counted at the end.
        let skipped = SkippedFiles { say("skipped unreadable image \($0.file): \($0.reason)") }
        let loader = try DataLoader(dataset: dataset, options: preparation.loaderOptions(batchSize: batch, shuffle: true, seed: seed,
                                                                                         unreadableImages: .skip(skipped)))
        let trainer = AutoencoderTrainer(model: model, settings: settings, images: LoaderImages(loader))
        let runURL = URL(fileURLWithPath: runDir)
        // Gradient shards: asked for, else the resumed checkpoint's, else one per rank of a distributed run.
        let saved = restart ? nil : TrainingRun.savedGradientShards(in: runURL)
        if let asked = gradientShards, let saved, asked != saved {
            say("note: continuing with \(asked) gradient shard\(asked == 1 ? "" : "s") where the checkpoint used \(saved): the same training, but not bit-identical to an uninterrupted run")
        }
        let shards = gradientShards ?? saved ?? group?.size ?? 1
        if shards > 1 || group != nil {
            guard shards % (group?.size ?? 1) == 0 else {
                throw TrainingError(message: "\(shards) gradient shards\(gradientShards == nil ? " (the checkpoint's)" : "") do not split over \(group?.size ?? 1) ranks: run on a number of ranks dividing \(shards), or give --gradient-shards (a multiple of the ranks)")
            }
            if let group { try trainer.useShards(shards, group: group) } else { try trainer.useShards(shards, group: SingleProcessGroup()) }
            say("gradient: \(shards) shards of \(batch / shards)\(batch % shards == 0 ? "" : "–\(batch / shards + 1)") images, summed in shard order\(group.map { ", over \($0.size) ranks" } ?? "")")
        }
        let sorted = JSONEncoder()
        sorted.outputFormatting = [.sortedKeys]
        let identity = "settings=\(String(decoding: try sorted.encode(settings), as: UTF8.self)) configuration=\(String(decoding: try sorted.encode(model.configuration), as: UTF8.self)) data=\(data) images=\(dataset.count) preparation=\(preparation.fingerprint) shards=\(trainer.sharded?.shards ?? 0)"
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(
            directory: runURL, steps: steps, checkpointEvery: checkpointEvery, restart: restart, progressLabel: "train-vae",
            group: group, checkEvery: checkEvery, identity: identity), report: say)
        say("training AutoencoderKL (\(model.parameterCount()) parameters) on \(data) (\(dataset.count) images; \(preparation.fingerprint)): \(steps) steps × \(batch) images, \(Parallel.threadCount) threads")
        try run.run()
        // The other ranks are done: rank 0 alone draws the curve, measures the latents and saves the model.
        guard isWriter else { return }
        let countSkipped = {
            if skipped.count > 0 { say("\(skipped.count) unreadable image\(skipped.count == 1 ? "" : "s") skipped of \(dataset.count)") }
        }
        let logURL = run.logURL!

        let curve = runURL.appendingPathComponent("loss.png")
        try LossCurvePlot.write([.init(name: "mse", points: TrainingLog.series(in: logURL, x: "step", y: "mse")),
                                 .init(name: "l1", points: TrainingLog.series(in: logURL, x: "step", y: "l1"))], to: curve.path)

        if decoderOnly {
            // The encoder is unchanged, and so are its latent statistics and scaling.
            try trainer.saveAveragedModel(to: URL(fileURLWithPath: output), dtype: dtype == "f16" ? .float16 : .float32)
            countSkipped()
            print("model: \(output) (decoder fine-tuned; encoder and latent scaling as in \(initFrom ?? ""))  loss curve: \(curve.path)  log: \(logURL.path)")
            return
        }
        // The generator sees (z − shift) · scale with unit variance: measure the EMA model's latents.
        trainer.ema.swapWithParameters()
        let stats = try VAEStatistics.latentStatistics(model, dataset: dataset, preparation: preparation, images: 10_000, skipped: skipped)
        countSkipped()
        trainer.ema.swapWithParameters()
        model.setLatentScaling(scalingFactor: 1 / stats.std, shiftFactor: stats.mean)
        try trainer.saveAveragedModel(to: URL(fileURLWithPath: output), dtype: dtype == "f16" ? .float16 : .float32)
        print("latent mean \(stats.mean), std \(stats.std) over \(stats.images) training images → scaling_factor \(1 / stats.std), shift_factor \(stats.mean)")
        print("model: \(output)  loss curve: \(curve.path)  log: \(logURL.path)")
    }
}
