/// The optimiser step shared by the project's trainers: skip a step whose loss or gradient norm is not
/// finite (nothing is updated, so the weights and the last checkpoint stay good), and stop the run with
/// a clear error after `limit` such steps in a row. Otherwise clip, update and average.
public struct GuardedUpdate {
    public let limit: Int
    public private(set) var nonFiniteInARow = 0

    public init(limit: Int) { self.limit = limit }

    /// Applies the step for `loss` with the gradients accumulated in `arena`; returns whether it was
    /// applied and the gradient norm before clipping. `step` only names the step in the error.
    public mutating func apply(loss: Float, step: Int, arena: ParameterArena, optimizer: any Optimizer,
                               ema: ExponentialMovingAverage?, learningRate: Float, clipNorm: Float) throws -> (applied: Bool, gradientNorm: Float) {
        let norm = arena.gradientNorm()
        guard loss.isFinite && norm.isFinite else {
            nonFiniteInARow += 1
            if nonFiniteInARow >= limit {
                throw NonFiniteTrainingError(description: "stopping at step \(step): \(nonFiniteInARow) steps in a row had a non-finite loss (\(loss)) or gradient norm (\(norm)); the last checkpoint is intact — lower the learning rate or check the data")
            }
            return (false, norm)
        }
        if clipNorm > 0 { _ = arena.clipGradients(maxNorm: clipNorm) }
        optimizer.update(learningRate: learningRate)
        ema?.update()
        nonFiniteInARow = 0
        return (true, norm)
    }
}

public struct NonFiniteTrainingError: Error, CustomStringConvertible {
    public let description: String
}

extension LearningRateSchedule {
    /// Linear warm-up to `peak` over `warmup` steps, then either constant or a cosine decay to `floor`
    /// at step `total` (the trainers' schedule).
    public static func warmupThen(cosine: Bool, peak: Float, floor: Float, warmup: Int, total: Int) -> Self {
        let base: Self = cosine ? .cosine(from: peak, to: floor, steps: Swift.max(1, total - warmup)) : .constant(peak)
        return warmup > 0 ? base.warmup(warmup) : base
    }
}
