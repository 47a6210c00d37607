import Foundation
import LatteNN
import LatteTensor

extension FashionClassifier {
    public struct TrainingSettings: Sendable {
        public var epochs = 3
        public var batchSize = 64
        public var learningRate: Float = 2e-3
        public var weightDecay: Float = 1e-4
        public var seed: UInt64 = 2026
        /// Random left-right flips: clothes are mostly mirror-symmetric, so this is free data.
        public var horizontalFlips = true
        /// Linear warm-up steps before the cosine decay.
        public var warmupSteps = 100
        public init() {}
    }

    /// Trains a classifier on `images` [N, 1, 28, 28] in [0, 1] in the one training loop (`TrainingRun`):
    /// AdamW with a cosine schedule over `epochs` passes. With `runDirectory` the run checkpoints there
    /// every `checkpointEvery` steps and resumes (unless `restart`); `progress` shows a bar on stderr.
    /// Deterministic for a given seed and thread count.
    public static func train(images: Tensor, labels: [Int], settings: TrainingSettings = TrainingSettings(),
                             runDirectory: URL? = nil, checkpointEvery: Int = 500, restart: Bool = false, progress: Bool = false,
                             report: @escaping (String) -> Void = { _ in }) throws -> FashionClassifier {
        let trainer = try FashionClassifierTrainer(images: images, labels: labels, settings: settings)
        try ClassifierTrainingSupport.run(trainer, steps: trainer.totalSteps, runDirectory: runDirectory, checkpointEvery: checkpointEvery,
                                          restart: restart, progress: progress, report: report)
        return trainer.model
    }
}

/// The classifier's step for `TrainingRun`: cross-entropy on the next batch; AdamW (no clipping, no
/// EMA) with a linear warm-up and a cosine decay to 2 % over every step of every epoch.
public final class FashionClassifierTrainer: StepTrainer {
    public let model: FashionClassifier
    public let settings: FashionClassifier.TrainingSettings
    public let update: ParameterUpdate
    /// Steps of the whole run: whole batches per epoch × epochs.
    public let totalSteps: Int
    private var batches: ClassifierBatches

    public init(images: Tensor, labels: [Int], settings: FashionClassifier.TrainingSettings) throws {
        guard images.rank == 4, images.shape[1] == 1, images.shape[2] == 28, images.shape[3] == 28 else {
            throw FIDError("the classifier trains on images [N, 1, 28, 28] with N labels, got \(images.shape) and \(labels.count) labels")
        }
        batches = try ClassifierBatches(images: images, labels: labels, batchSize: settings.batchSize,
                                        horizontalFlips: settings.horizontalFlips, seed: settings.seed)
        self.settings = settings
        model = FashionClassifier(seed: settings.seed)
        totalSteps = batches.stepsPerEpoch * settings.epochs
        update = ClassifierTrainingSupport.update(model: model, learningRate: settings.learningRate, warmupSteps: settings.warmupSteps,
                                                  weightDecay: settings.weightDecay, totalSteps: totalSteps)
    }

    public func computeGradients() throws -> StepLoss {
        let (images, targets) = try batches.next()
        let loss = valueAndGradient(model, accumulatingInto: update.arena) { m in Tensor.crossEntropy(logits: m(images), targets: targets) }
        return StepLoss(loss: loss, display: [("epoch", "\(batches.epoch + 1)/\(settings.epochs)")])
    }

    public func checkpointState() throws -> [String: String] { try batches.checkpointState() }

    public func restore(checkpointState: [String: String]) throws { try batches.restore(checkpointState: checkpointState) }
}
