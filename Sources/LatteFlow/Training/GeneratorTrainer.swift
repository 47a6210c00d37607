import Foundation
import LatteNN
import LatteTensor

/// A source of training batches whose position can be saved and restored, so a resumed run sees the
/// same batches as an uninterrupted one.
public protocol GeneratorTrainingData {
    /// Data latents [B, C, H, W] and, per row, the prompt cache (one row) of its condition.
    mutating func next() throws -> (latents: Tensor, prompts: [PromptCache])
    /// The position, as a string stored in checkpoints.
    func savedState() throws -> String
    mutating func restore(_ state: String) throws
}

public struct TrainingSettings: Codable, Equatable, Sendable {
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
    /// Save a checkpoint every N steps (0: only at the end).
    public var checkpointEvery: Int
    public var seed: UInt64
    /// Consecutive non-finite steps tolerated (each is skipped) before the run stops.
    public var maxNonFiniteSteps: Int

    public init(steps: Int, learningRate: Float = 3e-4, warmupSteps: Int = 100, cosine: Bool = false,
                minimumLearningRate: Float = 0, weightDecay: Float = 0, clipNorm: Float = 1, emaDecay: Float = 0.999,
                conditionDropout: Float = 0.1, timesteps: TimestepDistribution = .logitNormal(mean: 0, std: 1),
                checkpointEvery: Int = 500, seed: UInt64 = 0, maxNonFiniteSteps: Int = 5) {
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
        self.checkpointEvery = checkpointEvery
        self.seed = seed
        self.maxNonFiniteSteps = maxNonFiniteSteps
    }

    var schedule: LearningRateSchedule {
        .warmupThen(cosine: cosine, peak: learningRate, floor: minimumLearningRate, warmup: warmupSteps, total: steps)
    }
}

/// What one training step did.
public struct TrainingStep: Codable, Sendable {
    public let step: Int
    public let loss: Float
    /// Per group: samples routed to it and its mean squared error (nil: no sample this step).
    public let groupLosses: [Float?]
    public let groupCounts: [Int]
    public let learningRate: Float
    public let gradientNorm: Float
    /// False when the step was skipped for a non-finite loss or gradient.
    public let applied: Bool
    public let seconds: Double
}

public struct TrainingError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Trains the generation pathway with flow matching (METHOD.md §3): AdamW with warm-up, gradient
/// clipping, EMA weights for sampling, condition dropout, checkpoints with optimiser, EMA, data
/// position and random state, so a killed run resumes with the same losses. The frozen backbone is
/// not here at all: its prompt caches come in with the data, computed without the tape.
public final class GeneratorTrainer {
    public let model: LayerwiseTimestepExperts
    public let settings: TrainingSettings
    public let nullPrompt: PromptCache
    public let arena: ParameterArena
    public let optimizer: AdamW
    public let ema: ExponentialMovingAverage
    public private(set) var step = 0
    public private(set) var generator: RandomGenerator
    private var guarded: GuardedUpdate
    let objective: FlowMatchingLoss

    public init(model: LayerwiseTimestepExperts, settings: TrainingSettings, nullPrompt: PromptCache) {
        self.model = model
        self.settings = settings
        self.nullPrompt = nullPrompt
        arena = model.packParameters()
        optimizer = AdamW(arena: arena, weightDecay: settings.weightDecay, noDecay: AdamW.normsAndBiases)
        ema = ExponentialMovingAverage(arena: arena, decay: settings.emaDecay, warmup: true)
        generator = RandomGenerator(seed: settings.seed)
        objective = FlowMatchingLoss(timesteps: settings.timesteps)
        guarded = GuardedUpdate(limit: settings.maxNonFiniteSteps)
    }

    /// One optimisation step on the next batch of `data`.
    public func trainStep<D: GeneratorTrainingData>(_ data: inout D) throws -> TrainingStep {
        let start = DispatchTime.now().uptimeNanoseconds
        let batch = try data.next()
        let rows = batch.prompts.map { generator.nextFloat() < settings.conditionDropout ? nullPrompt : $0 }
        let prompt = PromptCache.stack(rows)
        arena.zeroGradients()
        var perGroup: [(count: Int, loss: Float)?] = []
        let loss = valueAndGradient(model, accumulatingInto: arena) { m in
            let r = objective(m, data: batch.latents, prompt: prompt, generator: &generator)
            perGroup = r.perGroup
            return r.loss
        }
        step += 1
        let lr = settings.schedule(step - 1)
        let (applied, norm) = try guarded.apply(loss: loss, step: step, arena: arena, optimizer: optimizer, ema: ema,
                                                learningRate: lr, clipNorm: settings.clipNorm)
        return TrainingStep(step: step, loss: loss, groupLosses: perGroup.map { $0?.loss }, groupCounts: perGroup.map { $0?.count ?? 0 },
                            learningRate: lr, gradientNorm: norm, applied: applied,
                            seconds: Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    /// Trains until `settings.steps`, checkpointing into `checkpointDirectory` (atomically) every
    /// `checkpointEvery` steps and at the end, appending one JSON line per step to `logURL`.
    public func train<D: GeneratorTrainingData>(_ data: inout D, checkpointDirectory: URL?, logURL: URL? = nil,
                                                onStep: ((TrainingStep) -> Void)? = nil) throws {
        let log = try logURL.map { try TrainingLog(url: $0, resumingAt: step) }
        defer { log?.close() }
        while step < settings.steps {
            let s = try trainStep(&data)
            try log?.append(s)
            onStep?(s)
            if let dir = checkpointDirectory,
               (settings.checkpointEvery > 0 && step % settings.checkpointEvery == 0) || step == settings.steps {
                try saveCheckpoint(to: dir, data: data)
            }
        }
    }

    public func saveCheckpoint<D: GeneratorTrainingData>(to directory: URL, data: D) throws {
        let rng = String(decoding: try JSONEncoder().encode(generator), as: UTF8.self)
        let config = String(decoding: try JSONEncoder().encode(model.configuration), as: UTF8.self)
        try Checkpoint.save(model: model, optimizer: optimizer, ema: ema,
                            extra: ["step": "\(step)", "rng": rng, "data": try data.savedState(), "generator_configuration": config],
                            to: directory)
    }

    /// Restores model, optimiser, EMA, step, random state and data position from a checkpoint.
    public func resume<D: GeneratorTrainingData>(from directory: URL, data: inout D) throws {
        let extra = try Checkpoint.load(model: model, optimizer: optimizer, ema: ema, from: directory)
        guard let s = extra["step"].flatMap(Int.init), let rng = extra["rng"], let d = extra["data"] else {
            throw TrainingError(message: "\(directory.path): not a generator training checkpoint (no step, random state or data position)")
        }
        if let c = extra["generator_configuration"],
           let saved = try? JSONDecoder().decode(GeneratorConfiguration.self, from: Data(c.utf8)), saved != model.configuration {
            throw TrainingError(message: "\(directory.path) was trained with another generator configuration")
        }
        step = s
        generator = try JSONDecoder().decode(RandomGenerator.self, from: Data(rng.utf8))
        try data.restore(d)
    }
}
