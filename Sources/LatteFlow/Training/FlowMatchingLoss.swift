import Foundation
import LatteTensor

/// How training draws t ∈ (0, 1).
public enum TimestepDistribution: Sendable, Equatable, Codable {
    case uniform
    /// σ(N(mean, std)) — logit-normal; (0, 1) is this type's default, `latte train` defaults to uniform.
    case logitNormal(mean: Float, std: Float)
    /// Uniform on [lower, upper): training only the experts that own those times.
    case uniformWithin(lower: Float, upper: Float)

    public func sample(_ generator: inout RandomGenerator) -> Float {
        switch self {
        case .uniform: return generator.nextFloat()
        case .uniformWithin(let lower, let upper): return lower + (upper - lower) * generator.nextFloat()
        case .logitNormal(let m, let s):
            let z = m + s * generator.nextNormal()
            return 1 / (1 + Foundation.exp(-z))
        }
    }
}

/// The per-group flow-matching objective (docs/method.md §3): x_t = t·x1 + (1 − t)·x0 with x0 ~ N(0, I),
/// target u = x1 − x0; each sample is routed to the group owning its t, the batch is gathered by group
/// so every group present trains in the same step, and L = Σ_k (n_k / B)·mean‖v_k − u‖² over its samples.
public struct FlowMatchingLoss {
    public var timesteps: TimestepDistribution

    public init(timesteps: TimestepDistribution = .logitNormal(mean: 0, std: 1)) {
        self.timesteps = timesteps
    }

    public struct Result {
        /// Mean squared error over the whole batch (what is differentiated).
        public let loss: Tensor
        /// Per group: (samples routed to it, its mean squared error); nil where no sample fell.
        public let perGroup: [(count: Int, loss: Float)?]
    }

    /// Draws t and noise for data latents x1 [B, C, H, W] and computes the loss; `prompts` holds one
    /// one-row cache per latent.
    public func callAsFunction(_ model: LayerwiseTimestepExperts, data x1: Tensor, prompts: [PromptCache],
                               generator: inout RandomGenerator) -> Result {
        let (t, noise) = draw(shape: x1.shape, generator: &generator)
        return loss(model, data: x1, noise: noise, t: t, prompts: prompts)
    }

    /// Each row's t, then the noise for latents of `shape` [B, C, H, W], from `generator` (in the
    /// order training has always drawn them). A data-parallel step draws the whole global batch on
    /// every rank and keeps its rows, so a row's t and noise depend on the seed and its place in the
    /// global batch, never on the rank.
    public func draw(shape: [Int], generator: inout RandomGenerator) -> (t: [Float], noise: Tensor) {
        let t = (0..<shape[0]).map { _ in timesteps.sample(&generator) }
        return (t, Tensor.normal(shape, generator: &generator))
    }

    /// The loss of `rows` of a global batch of `batchRows`, as its share of the batch's loss:
    /// Σ_k (n_k / batchRows)·mean‖v_k − u‖² over the shard's rows, prompts padded to `length` (the
    /// global batch's longest), so shard losses and gradients summed over the batch's shards are the
    /// batch's (`ShardedGradients`).
    public func shardLoss(_ model: LayerwiseTimestepExperts, data x1: Tensor, noise x0: Tensor, t: [Float], prompts: [PromptCache],
                          paddedTo length: Int, batchRows: Int) -> Result {
        precondition(prompts.count == x1.dim(0), "\(x1.dim(0)) latents but \(prompts.count) prompt caches")
        return loss(model, data: x1, noise: x0, t: t, batchRows: batchRows) { rows in PromptCache.stack(rows.map { prompts[$0] }, paddedTo: length) }
    }

    /// The loss for given noise and times, with one one-row prompt cache per latent (deterministic;
    /// used by tests and by `callAsFunction`). Each group's rows are stacked once, right-padded to the
    /// batch's longest prompt: the same keys, padding and attention shapes as a batch stacked whole.
    public func loss(_ model: LayerwiseTimestepExperts, data x1: Tensor, noise x0: Tensor, t: [Float], prompts: [PromptCache]) -> Result {
        precondition(prompts.count == x1.dim(0), "\(x1.dim(0)) latents but \(prompts.count) prompt caches")
        let length = prompts.map(\.length).max() ?? 0
        return loss(model, data: x1, noise: x0, t: t) { rows in PromptCache.stack(rows.map { prompts[$0] }, paddedTo: length) }
    }

    /// The loss for a prompt batch already stacked (one row per latent), e.g. by a benchmark.
    public func loss(_ model: LayerwiseTimestepExperts, data x1: Tensor, noise x0: Tensor, t: [Float], prompt: PromptCache) -> Result {
        loss(model, data: x1, noise: x0, t: t) { rows in prompt.selecting(rows: rows) }
    }

    /// The loss, with `promptRows(rows)` giving the prompt caches of the batch rows `rows`.
    func loss(_ model: LayerwiseTimestepExperts, data x1: Tensor, noise x0: Tensor, t: [Float], batchRows: Int? = nil,
              promptRows: ([Int]) -> PromptCache) -> Result {
        let b = x1.dim(0), share = batchRows ?? b
        let c = model.configuration
        var total: Tensor? = nil
        var perGroup: [(count: Int, loss: Float)?] = Array(repeating: nil, count: c.groups)
        for k in 0..<c.groups {
            let rows = (0..<b).filter { c.group(owning: t[$0]) == k }
            if rows.isEmpty { continue }
            let idx = Tensor(indices: rows)
            let data = x1.indexSelect(axis: 0, indices: idx), noise = x0.indexSelect(axis: 0, indices: idx)
            let tk = rows.map { t[$0] }
            let tt = Tensor(tk, shape: [rows.count, 1, 1, 1])
            let xt = data * tt + noise * (1 - tt)
            let v = model.velocity(xt, t: tk, prompt: promptRows(rows), group: k)
            let lk = (v - (data - noise)).pow(2).mean()
            perGroup[k] = (rows.count, withoutGradient { lk.item() })
            let weighted = lk * (Float(rows.count) / Float(share))
            total = total.map { $0 + weighted } ?? weighted
        }
        return Result(loss: total!, perGroup: perGroup)
    }
}
