import Foundation
import LatteFormats
import LatteKernels
import LatteNN
import LatteTensor

/// How `AutoencoderTrainer` trains: optimiser, schedule and the weights of the loss terms. How long the
/// run is and when it checkpoints belong to `TrainingRun.Options`.
public struct AutoencoderTrainingSettings: Codable, Equatable, Sendable {
    /// Length of the learning-rate schedule (the run's `steps`).
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
    public var seed: UInt64

    public init(steps: Int, batchSize: Int = 32, learningRate: Float = 1e-3, warmupSteps: Int = 200, cosine: Bool = true,
                minimumLearningRate: Float = 5e-5, weightDecay: Float = 0, clipNorm: Float = 1, emaDecay: Float = 0.999,
                mseWeight: Float = 1, l1Weight: Float = 0.1, klWeight: Float = 1e-6, samplePosterior: Bool = true,
                decoderOnly: Bool = false, decoderNoise: Float = 0, seed: UInt64 = 0) {
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
        self.seed = seed
    }

    public var schedule: LearningRateSchedule {
        .warmupThen(cosine: cosine, peak: learningRate, floor: minimumLearningRate, warmup: warmupSteps, total: steps)
    }
}

/// Training images [B, C, H, W] in [−1, 1], batch after batch, from a position a checkpoint saves.
public protocol AutoencoderTrainingImages: ResumableBatches where Batch == Tensor {}

/// A `DataLoader`'s batches as training images; its position is the loader's state.
public struct LoaderImages: AutoencoderTrainingImages {
    public let loader: DataLoader

    public init(_ loader: DataLoader) { self.loader = loader }

    public mutating func next() throws -> Tensor {
        let b = try loader.next()
        return Tensor(b.pixels, shape: [b.count, b.channels, b.height, b.width])
    }

    public func savedState() throws -> String { String(decoding: try JSONEncoder().encode(loader.state), as: UTF8.self) }
    public mutating func restore(_ state: String) throws {
        try loader.restore(try JSONDecoder().decode(LoaderState.self, from: Data(state.utf8)))
    }
}

/// The autoencoder's step for `TrainingRun`: an `AutoencoderKL` on images in [−1, 1] with the loss of
/// `AutoencoderTrainingSettings`, AdamW with warm-up and cosine decay, gradient clipping and EMA weights
/// (what gets saved as the model). Its checkpoint state is the random generator, the images' position
/// and the configuration, so a killed run resumes where it stopped. Logs "mse", "l1" and "kl".
public final class AutoencoderTrainer: StepTrainer {
    public let model: AutoencoderKL
    public let settings: AutoencoderTrainingSettings
    public private(set) var images: any AutoencoderTrainingImages
    public let update: ParameterUpdate
    public var arena: ParameterArena { update.arena }
    /// The parameter averages sampling uses (always present: `ParameterUpdate.adamW` keeps them).
    public var ema: ExponentialMovingAverage { update.ema! }
    public private(set) var generator: RandomGenerator
    /// When set, each batch's gradient is the sum over its shards in shard order, computed by this
    /// process alone or across the ranks of a data-parallel run (`useShards`); nil: the whole batch at
    /// once (the arithmetic of runs before sharding existed).
    public private(set) var sharded: ShardedGradients?

    public init(model: AutoencoderKL, settings: AutoencoderTrainingSettings, images: any AutoencoderTrainingImages) {
        self.model = model
        self.settings = settings
        self.images = images
        update = .adamW(model: model, weightDecay: settings.weightDecay, emaDecay: settings.emaDecay,
                        schedule: settings.schedule, clipNorm: settings.clipNorm)
        generator = RandomGenerator(seed: settings.seed)
    }

    /// PSNR in dB for a mean squared error on the [−1, 1] scale (peak-to-peak 2).
    public static func psnr(mse: Float) -> Float { 10 * log10(4 / Swift.max(mse, 1e-12)) }

    /// Computes each batch as `shards` micro-batches of consecutive images, split over `group`'s ranks.
    /// The same `shards` on any number of ranks dividing it gives the same bits (`ShardedGradients`).
    public func useShards(_ shards: Int, group: ProcessGroup) throws {
        guard shards <= settings.batchSize else {
            throw AutoencoderError("--gradient-shards \(shards) is more than the batch's \(settings.batchSize) images")
        }
        sharded = try ShardedGradients(arena: arena, shards: shards, group: group)
    }

    /// The loss of the next images (checked to fit the model first); its terms are of the batch before the update.
    public func computeGradients() throws -> StepLoss {
        let images = try self.images.next()
        try model.validateImages(images)
        if let sharded { return try shardedGradients(images, sharded) }
        var parts: (mse: Float, l1: Float, kl: Float) = (0, 0, 0)
        let s = settings
        let loss = valueAndGradient(model, accumulatingInto: arena) { m in
            if s.decoderOnly {
                // No gradient reaches the encoder, so Adam leaves it exactly as loaded.
                let mean = withoutGradient { m.encode(images).mean }
                let b = mean.dim(0)
                let sigmas = (0..<b).map { _ in generator.nextFloat() * s.decoderNoise / m.configuration.scalingFactor }
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
        return StepLoss(loss: loss, metrics: [("mse", parts.mse), ("l1", parts.l1), ("kl", parts.kl)],
                        display: [("psnr", String(format: "%.1f dB", Self.psnr(mse: parts.mse)))])
    }

    /// Every rank draws the whole batch's noise (so an image's depends on its place in the global batch,
    /// not on the rank) in the order one process draws it, computes its shards one after another, then
    /// the shards' gradients and loss terms are combined in shard order on every rank. A shard's loss
    /// terms are its means weighted by its share of the batch, so they add up to the batch's.
    private func shardedGradients(_ images: Tensor, _ sharded: ShardedGradients) throws -> StepLoss {
        let s = settings, c = model.configuration
        let b = images.dim(0), shards = sharded.shards
        guard b >= shards else {
            throw AutoencoderError("a batch of \(b) images cannot be cut into \(shards) gradient shards")
        }
        let f = c.downsamplingFactor
        let latentShape = [b, c.latentChannels, images.dim(2) / f, images.dim(3) / f]
        var sigmas: [Float] = []
        var noise: Tensor?
        if s.decoderOnly {
            sigmas = (0..<b).map { _ in generator.nextFloat() * s.decoderNoise / c.scalingFactor }
            noise = Tensor.normal(latentShape, generator: &generator)
        } else if s.samplePosterior {
            noise = Tensor.normal(latentShape, generator: &generator)
        }
        var local: [Float] = []
        for (q, shard) in sharded.localShards.enumerated() {
            let lo = b * shard / shards, hi = b * (shard + 1) / shards
            let idx = Tensor(indices: Array(lo..<hi))
            let x = images.indexSelect(axis: 0, indices: idx), eps = noise?.indexSelect(axis: 0, indices: idx)
            let share = Float(hi - lo) / Float(b)
            var parts: (mse: Float, l1: Float, kl: Float) = (0, 0, 0)
            arena.zeroGradients()
            let loss = valueAndGradient(model, accumulatingInto: arena) { m in
                if s.decoderOnly {
                    let mean = withoutGradient { m.encode(x).mean }
                    let diff = m.decode(mean + eps! * Tensor(Array(sigmas[lo..<hi]), shape: [hi - lo, 1, 1, 1])) - x
                    let mse = (diff * diff).mean() * share, l1 = diff.abs().mean() * share
                    parts = (mse.item(), l1.item(), 0)
                    return mse * s.mseWeight + l1 * s.l1Weight
                }
                let dist = m.encode(x)
                let z = eps.map { dist.mean + dist.std * $0 } ?? dist.mean
                let diff = m.decode(z) - x
                let mse = (diff * diff).mean() * share, l1 = diff.abs().mean() * share
                let kl = dist.klDivergence() / Float(dist.mean.count / dist.mean.shape[0]) * share
                parts = (mse.item(), l1.item(), kl.item())
                return mse * s.mseWeight + l1 * s.l1Weight + kl * s.klWeight
            }
            sharded.keep(localShard: q)
            local += [loss, parts.mse, parts.l1, parts.kl]
        }
        try sharded.reduce()
        let all = try sharded.group.allGather(local, "shard losses")
        var sums: [Float] = [0, 0, 0, 0]
        for shard in 0..<shards { for k in 0..<4 { sums[k] += all[shard * 4 + k] } }
        return StepLoss(loss: sums[0], metrics: [("mse", sums[1]), ("l1", sums[2]), ("kl", sums[3])],
                        display: [("psnr", String(format: "%.1f dB", Self.psnr(mse: sums[1])))])
    }

    public func checkpointState() throws -> [String: String] {
        let rng = String(decoding: try JSONEncoder().encode(generator), as: UTF8.self)
        let config = String(decoding: try JSONEncoder().encode(model.configuration), as: UTF8.self)
        let settingsJSON = String(decoding: try JSONEncoder().encode(settings), as: UTF8.self)
        var state = ["rng": rng, "data": try images.savedState(), "autoencoder_configuration": config, "autoencoder_training": settingsJSON]
        // The arithmetic of the gradient (not its meaning): a resumed run with the same count reproduces.
        if let sharded { state["gradient_shards"] = "\(sharded.shards)" }
        return state
    }

    public func restore(checkpointState extra: [String: String]) throws {
        guard let rng = extra["rng"], let data = extra["data"] else {
            throw AutoencoderError("not an autoencoder training checkpoint (no random state or data position)")
        }
        if let c = extra["autoencoder_configuration"],
           let saved = try? JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(c.utf8)), saved != model.configuration {
            throw AutoencoderError("the checkpoint was trained with another autoencoder configuration")
        }
        generator = try JSONDecoder().decode(RandomGenerator.self, from: Data(rng.utf8))
        try images.restore(data)
    }

    /// Saves the EMA weights as a diffusers folder (config.json + diffusion_pytorch_model.safetensors),
    /// leaving the training weights in place.
    public func saveAveragedModel(to directory: URL, dtype: DType = .float32) throws {
        ema.swapWithParameters()
        defer { ema.swapWithParameters() }
        try model.save(directory: directory, dtype: dtype)
    }
}
