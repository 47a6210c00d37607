import Foundation
import LatteNN
import LatteTensor

/// How `AutoencoderTrainer` trains: optimiser, schedule and the weights of the loss terms.
public struct AutoencoderTrainingSettings: Codable, Equatable, Sendable {
    public var steps: Int
    public var batchSize: Int
    public var learningRate: Float
    public var warmupSteps: Int
    /// Cosine decay to `minimumLearningRate` after warm-up; otherwise constant.
    public var cosine: Bool
    public var minimumLearningRate: Float
    public var weightDecay: Float
    public var clipNorm: Float
    public var emaDecay: Float
    /// Loss = mseWeight · MSE + l1Weight · L1 (per pixel, on the [−1, 1] scale) + klWeight · KL (per
    /// latent element). MSE is what PSNR measures; a little L1 sharpens edges; the KL keeps the latent
    /// near N(0, 1) scale without costing reconstruction when it is small.
    public var mseWeight: Float
    public var l1Weight: Float
    public var klWeight: Float
    /// Decode a posterior sample (the VAE objective) rather than the mean.
    public var samplePosterior: Bool
    /// Fine-tune the decoder alone: the encoder is frozen (its latents, and anything trained on them,
    /// stay valid) and the decoder learns from posterior means plus Gaussian noise.
    public var decoderOnly: Bool
    /// With `decoderOnly`: each image's latent gets noise of standard deviation u · decoderNoise,
    /// u ~ U(0, 1), in the generator's scaled units ((z − shift) · scale). A generator's latents are
    /// never exactly on the encoder's manifold; a decoder trained only on exact means turns small
    /// errors into blotches, one trained with noise maps them to plausible images.
    public var decoderNoise: Float
    public var checkpointEvery: Int
    public var seed: UInt64
    public var maxNonFiniteSteps: Int

    public init(steps: Int, batchSize: Int = 32, learningRate: Float = 1e-3, warmupSteps: Int = 200, cosine: Bool = true,
                minimumLearningRate: Float = 5e-5, weightDecay: Float = 0, clipNorm: Float = 1, emaDecay: Float = 0.999,
                mseWeight: Float = 1, l1Weight: Float = 0.1, klWeight: Float = 1e-6, samplePosterior: Bool = true,
                decoderOnly: Bool = false, decoderNoise: Float = 0, checkpointEvery: Int = 500, seed: UInt64 = 0, maxNonFiniteSteps: Int = 5) {
        self.steps = steps
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.cosine = cosine
        self.minimumLearningRate = minimumLearningRate
        self.weightDecay = weightDecay
        self.clipNorm = clipNorm
        self.emaDecay = emaDecay
        self.mseWeight = mseWeight
        self.l1Weight = l1Weight
        self.klWeight = klWeight
        self.samplePosterior = samplePosterior
        self.decoderOnly = decoderOnly
        self.decoderNoise = decoderNoise
        self.checkpointEvery = checkpointEvery
        self.seed = seed
        self.maxNonFiniteSteps = maxNonFiniteSteps
    }

    public var schedule: LearningRateSchedule {
        .warmupThen(cosine: cosine, peak: learningRate, floor: minimumLearningRate, warmup: warmupSteps, total: steps)
    }
}

/// What one autoencoder training step did. Losses are of the batch before the update.
public struct AutoencoderTrainingStep: Codable, Sendable {
    public let step: Int
    public let loss: Float
    public let mse: Float
    public let l1: Float
    public let kl: Float
    public let learningRate: Float
    public let gradientNorm: Float
    /// False when the step was skipped for a non-finite loss or gradient.
    public let applied: Bool
    public let seconds: Double

    /// PSNR in dB of this batch's reconstruction, for images in [−1, 1] (peak-to-peak 2).
    public var psnr: Float { AutoencoderTrainer.psnr(mse: mse) }
}

/// Trains an `AutoencoderKL` on images in [−1, 1]: AdamW with warm-up and cosine decay, gradient
/// clipping, EMA weights (what gets saved as the model), checkpoints with optimiser, EMA, step,
/// random state and the caller's data position, so a killed run resumes where it stopped.
public final class AutoencoderTrainer {
    public let model: AutoencoderKL
    public let settings: AutoencoderTrainingSettings
    public let arena: ParameterArena
    public let optimizer: AdamW
    public let ema: ExponentialMovingAverage
    public private(set) var step = 0
    public private(set) var generator: RandomGenerator
    private var guarded: GuardedUpdate

    public init(model: AutoencoderKL, settings: AutoencoderTrainingSettings) {
        self.model = model
        self.settings = settings
        arena = model.packParameters()
        optimizer = AdamW(arena: arena, weightDecay: settings.weightDecay, noDecay: AdamW.normsAndBiases)
        ema = ExponentialMovingAverage(arena: arena, decay: settings.emaDecay, warmup: true)
        generator = RandomGenerator(seed: settings.seed)
        guarded = GuardedUpdate(limit: settings.maxNonFiniteSteps)
    }

    /// PSNR in dB for a mean squared error on the [−1, 1] scale.
    public static func psnr(mse: Float) -> Float { 10 * log10(4 / Swift.max(mse, 1e-12)) }

    /// One optimisation step on `images` [B, C, H, W] in [−1, 1].
    public func trainStep(images: Tensor) throws -> AutoencoderTrainingStep {
        try model.validateImages(images)
        let start = DispatchTime.now().uptimeNanoseconds
        arena.zeroGradients()
        var parts: (mse: Float, l1: Float, kl: Float) = (0, 0, 0)
        let s = settings
        let loss = valueAndGradient(model, accumulatingInto: arena) { m in
            if s.decoderOnly {
                // No gradient reaches the encoder, so Adam leaves it exactly as loaded.
                let mean = withoutGradient { m.encode(images).mean }
                let b = mean.dim(0)
                let sigmas = (0..<b).map { _ in generator.nextFloat() * s.decoderNoise / m.configuration.scaling_factor }
                let noise = Tensor.normal(mean.shape, generator: &generator) * Tensor(sigmas, shape: [b, 1, 1, 1])
                let diff = m.decode(mean + noise) - images
                let mse = (diff * diff).mean(), l1 = diff.abs().mean()
                parts = (mse.item(), l1.item(), 0)
                return mse * s.mseWeight + l1 * s.l1Weight
            }
            let dist = m.encode(images)
            let z = s.samplePosterior ? dist.sample(generator: &generator) : dist.mean
            let recon = m.decode(z)
            let diff = recon - images
            let mse = (diff * diff).mean(), l1 = diff.abs().mean()
            // KL per latent element, so its weight does not depend on the latent size.
            let kl = dist.klDivergence() / Float(dist.mean.count / dist.mean.shape[0])
            parts = (mse.item(), l1.item(), kl.item())
            return mse * s.mseWeight + l1 * s.l1Weight + kl * s.klWeight
        }
        step += 1
        let lr = settings.schedule(step - 1)
        let (applied, norm) = try guarded.apply(loss: loss, step: step, arena: arena, optimizer: optimizer, ema: ema,
                                                learningRate: lr, clipNorm: settings.clipNorm)
        return AutoencoderTrainingStep(step: step, loss: loss, mse: parts.mse, l1: parts.l1, kl: parts.kl, learningRate: lr,
                                       gradientNorm: norm, applied: applied,
                                       seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// Writes a training checkpoint (atomically) with `dataState`, the caller's data position.
    public func saveCheckpoint(to directory: URL, dataState: String) throws {
        let rng = String(decoding: try JSONEncoder().encode(generator), as: UTF8.self)
        let config = String(decoding: try JSONEncoder().encode(model.configuration), as: UTF8.self)
        let settingsJSON = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        try Checkpoint.save(model: model, optimizer: optimizer, ema: ema,
                            extra: ["step": "\(step)", "rng": rng, "data": dataState,
                                    "autoencoder_configuration": config, "autoencoder_training": settingsJSON],
                            to: directory)
    }

    /// Restores model, optimiser, EMA, step and random state; returns the saved data position.
    public func resume(from directory: URL) throws -> String {
        let extra = try Checkpoint.load(model: model, optimizer: optimizer, ema: ema, from: directory)
        guard let s = extra["step"].flatMap(Int.init), let rng = extra["rng"], let data = extra["data"] else {
            throw AutoencoderError("\(directory.path): not an autoencoder training checkpoint (no step, random state or data position)")
        }
        if let c = extra["autoencoder_configuration"],
           let saved = try? JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(c.utf8)), saved != model.configuration {
            throw AutoencoderError("\(directory.path) was trained with another autoencoder configuration")
        }
        step = s
        generator = try JSONDecoder().decode(RandomGenerator.self, from: Data(rng.utf8))
        return data
    }

    /// Saves the EMA weights as a diffusers folder (config.json + diffusion_pytorch_model.safetensors),
    /// leaving the training weights in place.
    public func saveAveragedModel(to directory: URL, dtype: DType = .float32) throws {
        ema.swapWithParameters()
        defer { ema.swapWithParameters() }
        try model.save(directory: directory, dtype: dtype)
    }
}
