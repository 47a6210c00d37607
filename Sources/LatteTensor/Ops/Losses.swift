import Foundation

// Training objectives.

extension Tensor {
    /// Mean cross-entropy of `logits` [N, C] against integer class `targets` [N]; targets equal to
    /// `ignoreIndex` contribute nothing (and are not counted in the mean).
    public static func crossEntropy(logits: Tensor, targets: Tensor, ignoreIndex: Int? = nil) -> Tensor {
        precondition(logits.rank == 2, "crossEntropy expects logits [N, C], got \(logits.shape)")
        let n = logits.shape[0], c = logits.shape[1]
        let t = targets.toIntArray()
        precondition(t.count == n, "crossEntropy: \(t.count) targets for \(n) rows")
        let logp = logits.logSoftmax(axis: -1)
        let counted = t.filter { $0 != ignoreIndex }.count
        // −Σ log p[target] / count, as a constant one-hot weighting so the gradient flows through logp.
        let weights = Tensor.zeros([n, c])
        for (i, k) in t.enumerated() where k != ignoreIndex {
            precondition(k >= 0 && k < c, "crossEntropy: target \(k) out of range 0..<\(c)")
            weights.f32[i * c + k] = -1 / Float(Swift.max(counted, 1))
        }
        return (logp * weights).sum()
    }

    /// Mean squared error over all elements.
    public static func meanSquaredError(_ prediction: Tensor, _ target: Tensor) -> Tensor {
        (prediction - target).pow(2).mean()
    }
}
