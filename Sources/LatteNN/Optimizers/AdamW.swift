import Foundation
import LatteKernels
import LatteTensor

/// Adam with decoupled weight decay, as torch.optim.AdamW (Loshchilov & Hutter):
///
///     θ ← θ·(1 − lr·λ)
///     m ← m + (1 − β₁)·(g − m)          v ← β₂·v + (1 − β₂)·g²
///     θ ← θ − (lr / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// Bias correction as torch, ε outside the square root. Parameters for which `noDecay` is true
/// (by default: none; `AdamW.normsAndBiases` skips every rank-≤1 parameter) get λ = 0.
/// The update is one pointer sweep over the arena, split into runs of equal decay.
public final class AdamW: Optimizer {
    public let arena: ParameterArena
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    public var weightDecay: Float
    public private(set) var step = 0
    let m: ArenaBuffer
    let v: ArenaBuffer
    /// Contiguous ranges of the arena with their decay flag (padding included, it stays zero).
    let runs: [(start: Int, end: Int, decays: Bool)]

    /// Rank-≤1 parameters (norm scales, biases) are not decayed.
    public static let normsAndBiases: (String, Parameter) -> Bool = { _, p in p.shape.count <= 1 }

    public init(arena: ParameterArena, beta1: Float = 0.9, beta2: Float = 0.999, eps: Float = 1e-8,
                weightDecay: Float = 0.01, noDecay: (String, Parameter) -> Bool = { _, _ in false }) {
        self.arena = arena
        (self.beta1, self.beta2, self.eps, self.weightDecay) = (beta1, beta2, eps, weightDecay)
        m = ArenaBuffer(count: arena.count)
        v = ArenaBuffer(count: arena.count)
        var runs: [(start: Int, end: Int, decays: Bool)] = []
        for (i, e) in arena.entries.enumerated() {
            let end = i + 1 < arena.entries.count ? arena.entries[i + 1].offset : arena.count
            let decays = !noDecay(e.key, e.parameter)
            if let last = runs.last, last.decays == decays { runs[runs.count - 1].end = end }
            else { runs.append((e.offset, end, decays)) }
        }
        self.runs = runs
    }

    public func update(learningRate lr: Float) {
        arena.checkCurrent("AdamW.update")
        step += 1
        // Scalars in double, as torch computes them in Python, then rounded once to float.
        let t = Double(step)
        let bc1 = 1 - Foundation.pow(Double(beta1), t), bc2 = 1 - Foundation.pow(Double(beta2), t)
        let stepSize = Float(Double(lr) / bc1)
        let bc2Sqrt = Float(bc2.squareRoot())
        let b1c = Float(1 - Double(beta1)), b2 = beta2, b2c = Float(1 - Double(beta2)), eps = eps
        let p = arena.valuePointer, g = UnsafePointer(arena.gradientPointer), mp = m.pointer, vp = v.pointer
        for run in runs {
            let keep: Float = run.decays ? Float(1 - Double(lr) * Double(weightDecay)) : 1
            OptimizerKernels.adamWStep(
                parameters: p + run.start, gradients: g + run.start, firstMoment: mp + run.start, secondMoment: vp + run.start,
                count: run.end - run.start, oneMinusBeta1: b1c, beta2: b2, oneMinusBeta2: b2c,
                biasCorrection2Sqrt: bc2Sqrt, eps: eps, stepSize: stepSize, keep: keep)
        }
    }

    public func stateTensors() -> [String: Tensor] { arena.stateViews([("exp_avg", m), ("exp_avg_sq", v)]) }

    public func stateMetadata() -> [String: String] {
        ["optimizer": "AdamW", "step": "\(step)", "beta1": "\(beta1)", "beta2": "\(beta2)", "eps": "\(eps)", "weight_decay": "\(weightDecay)"]
    }

    public func loadState(tensors: [String: Tensor], metadata: [String: String]) throws {
        guard metadata["optimizer"] == "AdamW" else {
            throw OptimizerStateError(message: "state was saved by optimiser '\(metadata["optimizer"] ?? "unknown")', not AdamW")
        }
        let s = try metadataInt(metadata, "step")
        try arena.loadStateViews([("exp_avg", m), ("exp_avg_sq", v)], from: tensors)
        step = s
    }
}
