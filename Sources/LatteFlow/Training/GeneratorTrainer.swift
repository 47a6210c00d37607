import Foundation
import LatteNN
import LatteTensor

/// A source of generator training batches whose position can be saved and restored, so a resumed run
/// sees the same batches as an uninterrupted one. Each row brings its own one-row prompt cache; the
/// loss stacks the rows of each expert group once (`FlowMatchingLoss`).
public protocol GeneratorTrainingData: ResumableBatches where Batch == (latents: Tensor, prompts: [PromptCache]) {}

/// How the generator trains: optimiser, schedule and the flow-matching objective. How long the run is
/// and when it checkpoints belong to `TrainingRun.Options`.
public struct TrainingSettings: Codable, Equatable, Sendable {
    /// Length of the learning-rate schedule (the run's `steps`).
    public var steps: Int
    public var learningRate: Float
    public var warmupSteps: Int
    /// Cosine decay to `minimumLearningRate` after warm-up; otherwise constant.
    public var cosine: Bool
    public var minimumLearningRate: Float
    public var weightDecay: Float
    public var clipNorm: Float
    public var emaDecay: Float
    /// Probability of replacing a row's condition with the null prompt (so guidance works).
    public var conditionDropout: Float
    public var timesteps: TimestepDistribution
    public var seed: UInt64

    public init(steps: Int, learningRate: Float = 3e-4, warmupSteps: Int = 100, cosine: Bool = false,
                minimumLearningRate: Float = 0, weightDecay: Float = 0, clipNorm: Float = 1, emaDecay: Float = 0.999,
                conditionDropout: Float = 0.1, timesteps: TimestepDistribution = .logitNormal(mean: 0, std: 1), seed: UInt64 = 0) {
        self.steps = steps
        self.learningRate = learningRate
        self.warmupSteps = warmupSteps
        self.cosine = cosine
        self.minimumLearningRate = minimumLearningRate
        self.weightDecay = weightDecay
        self.clipNorm = clipNorm
        self.emaDecay = emaDecay
        self.conditionDropout = conditionDropout
        self.timesteps = timesteps
        self.seed = seed
    }

    var schedule: LearningRateSchedule {
        .warmupThen(cosine: cosine, peak: learningRate, floor: minimumLearningRate, warmup: warmupSteps, total: steps)
    }
}

/// The generation pathway's step for `TrainingRun` (docs/method.md §3): condition dropout, the per-group
/// flow-matching loss and its gradients; AdamW with warm-up, clipping and EMA weights for sampling.
/// Its checkpoint state is the random generator, the data position and the generator configuration,
/// so a killed run resumes with the same losses. The frozen backbone is not here at all: its prompt
/// caches come in with the data, computed without the tape.
public final class GeneratorTrainer: StepTrainer {
    public let model: LayerwiseTimestepExperts
    public let settings: TrainingSettings
    public let nullPrompt: PromptCache
    public private(set) var data: any GeneratorTrainingData
    public let update: ParameterUpdate
    public var arena: ParameterArena { update.arena }
    /// The parameter averages sampling uses (always present: `ParameterUpdate.adamW` keeps them).
    public var ema: ExponentialMovingAverage { update.ema! }
    public private(set) var generator: RandomGenerator
    let objective: FlowMatchingLoss

    /// Packs the model's trainable parameters: freeze what should not train (`trainOnly(groups:)`) first.
    public init(model: LayerwiseTimestepExperts, settings: TrainingSettings, nullPrompt: PromptCache, data: any GeneratorTrainingData) {
        self.model = model
        self.settings = settings
        self.nullPrompt = nullPrompt
        self.data = data
        update = .adamW(model: model, weightDecay: settings.weightDecay, emaDecay: settings.emaDecay,
                        schedule: settings.schedule, clipNorm: settings.clipNorm)
        generator = RandomGenerator(seed: settings.seed)
        objective = FlowMatchingLoss(timesteps: settings.timesteps)
    }

    /// The loss of the next batch, each row's prompt dropped to the null prompt with probability
    /// `conditionDropout`; logs each group's loss as "g<k>" (groups without a sample this step are absent).
    public func computeGradients() throws -> StepLoss {
        let batch = try data.next()
        let prompts = batch.prompts.map { generator.nextFloat() < settings.conditionDropout ? nullPrompt : $0 }
        var perGroup: [(count: Int, loss: Float)?] = []
        let loss = valueAndGradient(model, accumulatingInto: arena) { m in
            let r = objective(m, data: batch.latents, prompts: prompts, generator: &generator)
            perGroup = r.perGroup
            return r.loss
        }
        let metrics = perGroup.enumerated().compactMap { k, g in g.map { (name: "g\(k)", value: $0.loss) } }
        return StepLoss(loss: loss, metrics: metrics)
    }

    public func checkpointState() throws -> [String: String] {
        let rng = String(decoding: try JSONEncoder().encode(generator), as: UTF8.self)
        let config = String(decoding: try JSONEncoder().encode(model.configuration), as: UTF8.self)
        return ["rng": rng, "data": try data.savedState(), "generator_configuration": config]
    }

    public func restore(checkpointState extra: [String: String]) throws {
        guard let rng = extra["rng"], let position = extra["data"] else {
            throw TrainingError(message: "not a generator training checkpoint (no random state or data position)")
        }
        if let c = extra["generator_configuration"],
           let saved = try? JSONDecoder().decode(GeneratorConfiguration.self, from: Data(c.utf8)), saved != model.configuration {
            throw TrainingError(message: "the checkpoint was trained with another generator configuration")
        }
        generator = try JSONDecoder().decode(RandomGenerator.self, from: Data(rng.utf8))
        try data.restore(position)
    }

    /// Runs `body` with the EMA weights (what sampling uses) in the model, then puts the training weights back.
    public func withAveragedWeights<T>(_ body: () throws -> T) rethrows -> T {
        ema.swapWithParameters()
        defer { ema.swapWithParameters() }
        return try body()
    }
}
