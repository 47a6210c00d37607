import Foundation
import LatteKernels
import LatteNN
import LatteTensor

/// A source of generator training batches whose position can be saved and restored, so a resumed run
/// sees the same batches as an uninterrupted one. Each row brings its own one-row prompt cache; the
/// loss stacks the rows of each expert group once (`FlowMatchingLoss`).
public protocol GeneratorTrainingData: ResumableBatches where Batch == (latents: Tensor, prompts: [PromptCache]) {
    /// The next batch, as `next()` would give it, with only the rows `keep(B)` of its B rows read
    /// (latents and prompt caches): what one rank of a data-parallel run computes. Every row's prompt
    /// length comes too, since the rows are padded to the whole batch's longest.
    mutating func next(keeping keep: (Int) -> Range<Int>) throws -> PartialBatch
    /// What the batch just drawn was prompted with, when a source mixes kinds of prompts (`ImagePromptPairs`:
    /// "image" or "text"); the trainer then also logs the step's loss as "<kind>_loss", so each kind has
    /// its own curve. nil (the default) logs nothing more.
    var batchKind: String? { get }
}

/// Rows `kept` of a global batch of `rows` rows: their latents and prompt caches, and every row's prompt length.
public struct PartialBatch {
    public var rows: Int
    public var kept: Range<Int>
    public var latents: Tensor
    public var prompts: [PromptCache]
    public var lengths: [Int]

    public init(rows: Int, kept: Range<Int>, latents: Tensor, prompts: [PromptCache], lengths: [Int]) {
        self.rows = rows
        self.kept = kept
        self.latents = latents
        self.prompts = prompts
        self.lengths = lengths
    }
}

extension GeneratorTrainingData {
    public var batchKind: String? { nil }

    /// Reads the whole batch and keeps the rows (sources that cannot read part of a batch).
    public mutating func next(keeping keep: (Int) -> Range<Int>) throws -> PartialBatch {
        let batch = try next()
        let b = batch.latents.dim(0), kept = keep(b)
        return PartialBatch(rows: b, kept: kept, latents: batch.latents.indexSelect(axis: 0, indices: Tensor(indices: Array(kept))),
                            prompts: Array(batch.prompts[kept]), lengths: batch.prompts.map(\.length))
    }
}

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
    /// When set, each batch's gradient is the sum over its shards in shard order, computed by this
    /// process alone or across the ranks of a data-parallel run (`useShards`); nil: the whole batch
    /// at once (the arithmetic of runs before sharding existed).
    public private(set) var sharded: ShardedGradients?

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

    /// Computes each batch as `shards` micro-batches of consecutive rows, split over `group`'s ranks
    /// (each batch has `batchRows` rows, at least `shards`). The same `shards` on any number of ranks dividing
    /// it gives the same bits (`ShardedGradients`).
    public func useShards(_ shards: Int, batchRows: Int, group: ProcessGroup) throws {
        guard shards <= batchRows else {
            throw TrainingError(message: "--gradient-shards \(shards) is more than the batch's \(batchRows) rows")
        }
        sharded = try ShardedGradients(arena: arena, shards: shards, group: group)
    }

    /// The loss of the next batch, each row's prompt dropped to the null prompt with probability
    /// `conditionDropout`; logs each group's loss as "g<k>" (groups without a sample this step are absent).
    public func computeGradients() throws -> StepLoss {
        if let sharded { return try shardedGradients(sharded) }
        let batch = try data.next()
        let prompts = batch.prompts.map { generator.nextFloat() < settings.conditionDropout ? nullPrompt : $0 }
        var perGroup: [(count: Int, loss: Float)?] = []
        let loss = valueAndGradient(model, accumulatingInto: arena) { m in
            let r = objective(m, data: batch.latents, prompts: prompts, generator: &generator)
            perGroup = r.perGroup
            return r.loss
        }
        var metrics = perGroup.enumerated().compactMap { k, g in g.map { (name: "g\(k)", value: $0.loss) } }
        if let kind = data.batchKind { metrics.append((name: "\(kind)_loss", value: loss)) }
        return StepLoss(loss: loss, metrics: metrics)
    }

    /// Every rank reads only its shards' rows of the global batch (latents and prompt caches) but draws
    /// the whole batch's condition dropout, times and noise in the order one process does (so a row's
    /// depend on its place in the global batch, not on the rank), computes its shards one after
    /// another, then the shards' gradients and losses are combined in shard order on every rank.
    private func shardedGradients(_ sharded: ShardedGradients) throws -> StepLoss {
        let shards = sharded.shards, local = sharded.localShards
        let part = try data.next(keeping: { b in b * local.lowerBound / shards ..< b * local.upperBound / shards })
        let b = part.rows, kept = part.kept
        var prompts = part.prompts, lengths = part.lengths
        for row in 0..<b where generator.nextFloat() < settings.conditionDropout {
            lengths[row] = nullPrompt.length
            if kept.contains(row) { prompts[row - kept.lowerBound] = nullPrompt }
        }
        let (t, noise) = objective.draw(shape: [b] + part.latents.shape.dropFirst(), generator: &generator)
        let groups = model.configuration.groups
        let length = lengths.max() ?? 0
        // Per local shard: its loss, then (count, mean loss) per group.
        var losses: [Float] = []
        for (q, shard) in local.enumerated() {
            let lo = b * shard / shards, hi = b * (shard + 1) / shards
            let x = part.latents.indexSelect(axis: 0, indices: Tensor(indices: Array((lo - kept.lowerBound)..<(hi - kept.lowerBound))))
            let n = noise.indexSelect(axis: 0, indices: Tensor(indices: Array(lo..<hi)))
            var perGroup: [(count: Int, loss: Float)?] = []
            arena.zeroGradients()
            let loss = valueAndGradient(model, accumulatingInto: arena) { m in
                let r = objective.shardLoss(m, data: x, noise: n, t: Array(t[lo..<hi]),
                                            prompts: Array(prompts[(lo - kept.lowerBound)..<(hi - kept.lowerBound)]),
                                            paddedTo: length, batchRows: b)
                perGroup = r.perGroup
                return r.loss
            }
            sharded.keep(localShard: q)
            losses.append(loss)
            for g in perGroup { losses += [Float(g?.count ?? 0), g?.loss ?? 0] }
        }
        try sharded.reduce()
        let all = try sharded.group.allGather(losses, "shard losses")
        let stride = 1 + 2 * groups
        var loss: Float = 0
        var counts = [Float](repeating: 0, count: groups), sums = [Double](repeating: 0, count: groups)
        for shard in 0..<shards {
            let r = all[(shard * stride)...]
            loss += r[r.startIndex]
            for k in 0..<groups {
                let count = r[r.startIndex + 1 + 2 * k]
                counts[k] += count
                sums[k] += Double(count) * Double(r[r.startIndex + 2 + 2 * k])
            }
        }
        let metrics = (0..<groups).compactMap { k in counts[k] > 0 ? (name: "g\(k)", value: Float(sums[k] / Double(counts[k]))) : nil }
        return StepLoss(loss: loss, metrics: metrics)
    }

    public func checkpointState() throws -> [String: String] {
        let rng = String(decoding: try JSONEncoder().encode(generator), as: UTF8.self)
        let config = String(decoding: try JSONEncoder().encode(model.configuration), as: UTF8.self)
        var state = ["rng": rng, "data": try data.savedState(), "generator_configuration": config]
        // The arithmetic of the gradient (not its meaning): a resumed run with the same count reproduces.
        if let sharded { state["gradient_shards"] = "\(sharded.shards)" }
        return state
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
