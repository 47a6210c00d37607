import Foundation
import LatteNN
import LatteTensor

/// What the project's two image classifiers (Fashion-MNIST's and the category classifier) share in
/// training and prediction: the same optimiser recipe, the same resumable loop, the same batching.
enum ClassifierTrainingSupport {
    /// AdamW (no decay on norms and biases, no clipping, no EMA) with a linear warm-up and a cosine decay
    /// to 2 % of `learningRate` over `totalSteps`.
    static func update(model: Module, learningRate: Float, warmupSteps: Int, weightDecay: Float, totalSteps: Int) -> ParameterUpdate {
        let arena = ParameterArena(packing: model)
        let schedule = LearningRateSchedule.cosine(from: learningRate, to: learningRate * 0.02, steps: totalSteps).warmup(warmupSteps)
        return ParameterUpdate(model: model, arena: arena,
                               optimizer: AdamW(arena: arena, weightDecay: weightDecay, noDecay: AdamW.normsAndBiases),
                               ema: nil, schedule: schedule, clipNorm: 0)
    }

    /// Runs `trainer` for `steps` in `TrainingRun`: with `runDirectory` it checkpoints there every
    /// `checkpointEvery` steps and resumes (unless `restart`); `progress` shows a bar on stderr.
    static func run(_ trainer: some StepTrainer, steps: Int, runDirectory: URL?, checkpointEvery: Int, restart: Bool, progress: Bool,
                    report: @escaping (String) -> Void) throws {
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(
            directory: runDirectory, steps: steps, checkpointEvery: checkpointEvery, restart: restart,
            progressLabel: progress ? "classifier" : nil), report: report)
        try run.run()
    }

    /// The argmax class of each image, `batchSize` images per forward pass (no gradients kept).
    static func predictedClasses(_ images: Tensor, batchSize: Int, forward: (Tensor) -> Tensor) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(images.shape[0])
        var start = 0
        while start < images.shape[0] {
            let end = min(start + batchSize, images.shape[0])
            let logits = withoutGradient { forward(images.sliced(axis: 0, start..<end).contiguous()) }
            out += logits.argmax(axis: 1).toIntArray()
            start = end
        }
        return out
    }
}

extension ClassifierBatches {
    /// The data position as a training checkpoint records it.
    func checkpointState() throws -> [String: String] { ["data": try savedState()] }

    /// Restores the data position from a training checkpoint's state.
    mutating func restore(checkpointState: [String: String]) throws {
        guard let data = checkpointState["data"] else {
            throw TrainingError(message: "not a classifier training checkpoint (no data position)")
        }
        try restore(data)
    }
}
