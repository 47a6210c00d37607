import ArgumentParser
import Foundation
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte train-vae`: trains an AutoencoderKL-shaped model on an image dataset with checkpoints,
/// resume, progress, a JSONL log and a loss-curve PNG; the EMA weights are saved as a diffusers folder
/// with the latent scaling measured on training images.
struct TrainVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-vae", abstract: "Train an AutoencoderKL on an image dataset (default: Fashion-MNIST padded to 32×32).")

    @Option(help: "'fashion-mnist' or a folder of images in class sub-folders.") var data = "fashion-mnist"
    @Option(help: "An AutoencoderKL config.json (default: the small Fashion-MNIST autoencoder, 32×32×1 → 8×8×4).") var config: String?
    @Option(help: "Where the trained model (EMA weights, diffusers layout) is written.") var output = "models/fashion-vae"
    @Option(help: "Folder for checkpoints, the JSONL log and the loss curve; an existing checkpoint there is resumed.") var runDir = "runs/fashion-vae"
    @Option(help: "Latent channels of the built-in configuration (ignored with --config).") var latentChannels = 8
    @Option(help: "Optimisation steps.") var steps = 4800
    @Option(help: "Images per step.") var batch = 16
    @Option(help: "Peak learning rate (cosine decay after warm-up).") var lr: Float = 1e-3
    @Option(help: "Warm-up steps.") var warmup = 200
    @Option(help: "Weight of the L1 term (MSE has weight 1).") var l1: Float = 0.1
    @Option(help: "Weight of the KL term, per latent element.") var kl: Float = 1e-6
    @Option(help: "Zero padding around each image (Fashion-MNIST 28 → 32 with 2).") var pad = 2
    @Option(help: "Checkpoint every N steps.") var checkpointEvery = 250
    @Option(help: "Random seed (weights, data order, posterior samples).") var seed: UInt64 = 0
    @Option(help: "Storage type of the saved model: f32 or f16.") var dtype = "f16"
    @Option(help: "Threads (default: all cores).") var threads: Int?
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
    }

    /// The small autoencoder of the default model: 1 channel, blocks 32/64/64 (×4 down), latent 8×8×8.
    /// Eight latent channels rather than four: with four, this model reached 24.3 dB on the test set
    /// half-way through a 45-minute run (docs/autoencoders.md), far from the 28 dB wanted; the generator
    /// only sees 64 tokens of 8 values instead of 4.
    static func smallConfiguration(latentChannels: Int = 8) -> AutoencoderKLConfiguration {
        var c = AutoencoderKLConfiguration()
        c.in_channels = 1
        c.out_channels = 1
        c.block_out_channels = [32, 64, 64]
        c.layers_per_block = 1
        c.latent_channels = latentChannels
        c.norm_num_groups = 8
        c.sample_size = 32
        c.scaling_factor = 1
        return c
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let model: AutoencoderKL
        if let initFrom {
            if config != nil { throw ValidationError("--config and --init-from both give the configuration: choose one") }
            model = try AutoencoderKL.load(directory: URL(fileURLWithPath: initFrom))
        } else {
            let configuration: AutoencoderKLConfiguration
            if let config {
                do { configuration = try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(contentsOf: URL(fileURLWithPath: config))) }
                catch { throw ValidationError("--config \(config): \(error)") }
            } else { configuration = Self.smallConfiguration(latentChannels: latentChannels) }
            model = try AutoencoderKL(configuration, seed: seed)
        }
        let settings = AutoencoderTrainingSettings(steps: steps, batchSize: batch, learningRate: lr, warmupSteps: warmup,
                                                   l1Weight: l1, klWeight: kl, decoderOnly: decoderOnly, decoderNoise: decoderNoise,
                                                   checkpointEvery: checkpointEvery, seed: seed)
        let trainer = AutoencoderTrainer(model: model, settings: settings)
        let dataset = try ImageDataSource.dataset(data, split: .train)
        let loader = try DataLoader(dataset: dataset, options: ImageDataSource.loaderOptions(batchSize: batch, shuffle: true, seed: seed, pad: pad))

        let runURL = URL(fileURLWithPath: runDir), checkpointURL = runURL.appendingPathComponent("checkpoint")
        try FileManager.default.createDirectory(at: runURL, withIntermediateDirectories: true)
        let logURL = runURL.appendingPathComponent("log.jsonl")
        if restart {
            try? FileManager.default.removeItem(at: checkpointURL)
            try? FileManager.default.removeItem(at: logURL)
        } else if Checkpoint.exists(at: checkpointURL) {
            let state = try trainer.resume(from: checkpointURL)
            try loader.restore(try JSONDecoder().decode(LoaderState.self, from: Data(state.utf8)))
            FileHandle.standardError.write(Data("resuming \(runDir) at step \(trainer.step)\n".utf8))
        }
        let parameters = model.namedParameters().reduce(0) { $0 + $1.1.value.count }
        FileHandle.standardError.write(Data("training AutoencoderKL (\(parameters) parameters) on \(data): \(steps) steps × \(batch) images, \(Parallel.threadCount) threads\n".utf8))

        let log = try TrainingLog(url: logURL, resumingAt: trainer.step)
        defer { log.close() }
        var progress = TrainingProgress(total: steps, startingAt: trainer.step, label: "train-vae")
        func dataState() throws -> String { String(decoding: try JSONEncoder().encode(loader.state), as: UTF8.self) }
        while trainer.step < steps {
            let b = try loader.next()
            let images = Tensor(b.pixels, shape: [b.count, b.channels, b.height, b.width])
            let s = try trainer.trainStep(images: images)
            try log.append(s)
            if !s.applied { FileHandle.standardError.write(Data("\nstep \(s.step) skipped: non-finite loss \(s.loss) or gradient norm \(s.gradientNorm)\n".utf8)) }
            progress.update(step: s.step, fields: [("loss", String(format: "%.4f", s.loss)), ("psnr", String(format: "%.1f dB", s.psnr)),
                                                    ("lr", String(format: "%.1e", s.learningRate))])
            if s.step % checkpointEvery == 0 || s.step == steps { try trainer.saveCheckpoint(to: checkpointURL, dataState: try dataState()) }
        }

        let curve = runURL.appendingPathComponent("loss.png")
        try LossCurvePlot.write([.init(name: "mse", points: TrainingLog.series(in: logURL, x: "step", y: "mse")),
                                 .init(name: "l1", points: TrainingLog.series(in: logURL, x: "step", y: "l1"))], to: curve.path)

        if decoderOnly {
            // The encoder is unchanged, and so are its latent statistics and scaling.
            try trainer.saveAveragedModel(to: URL(fileURLWithPath: output), dtype: dtype == "f16" ? .float16 : .float32)
            print("model: \(output) (decoder fine-tuned; encoder and latent scaling as in \(initFrom ?? ""))  loss curve: \(curve.path)  log: \(logURL.path)")
            return
        }
        // The generator sees (z − shift) · scale with unit variance: measure the EMA model's latents.
        trainer.ema.swapWithParameters()
        let stats = try VAEStatistics.latentStatistics(model, dataset: dataset, pad: pad, images: 10_000)
        trainer.ema.swapWithParameters()
        model.setLatentScaling(scalingFactor: 1 / stats.std, shiftFactor: stats.mean)
        try trainer.saveAveragedModel(to: URL(fileURLWithPath: output), dtype: dtype == "f16" ? .float16 : .float32)
        print("latent mean \(stats.mean), std \(stats.std) over \(stats.images) training images → scaling_factor \(1 / stats.std), shift_factor \(stats.mean)")
        print("model: \(output)  loss curve: \(curve.path)  log: \(logURL.path)")
    }
}
