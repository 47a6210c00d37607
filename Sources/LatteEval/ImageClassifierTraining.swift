import Foundation
import LatteFormats
import LatteNN
import LatteTensor

extension ImageClassifier {
    public struct TrainingSettings: Sendable, Equatable {
        public var epochs = 30
        public var batchSize = 64
        public var learningRate: Float = 2e-3
        public var weightDecay: Float = 5e-4
        public var seed: UInt64 = 2026
        /// Random left-right flips.
        public var horizontalFlips = true
        /// Random translations by up to this many pixels, the border filled with the background (0: off).
        public var maxShift = 2
        /// Linear warm-up steps before the cosine decay.
        public var warmupSteps = 100
        /// Class weights in the loss: class c weighs (n_largest / n_c)^classBalance, so 0 is the plain
        /// mean, 1 makes every class count as much as the largest, ½ (the default) lies between. A set
        /// dominated by one class (the emoji set is half "People & Body") otherwise trains a classifier
        /// that rarely names the small classes, which would make prompt adherence reward the big one.
        public var classBalance: Float = 0.5
        public init() {}
    }

    /// Trains a classifier of `configuration` on `images` [N, C, R, R] in [0, 1] in the one training loop
    /// (`TrainingRun`): AdamW with a cosine schedule over `epochs` passes, flips and shifts as set. With
    /// `runDirectory` the run checkpoints there every `checkpointEvery` steps and resumes (unless
    /// `restart`); `progress` shows a bar on stderr. Deterministic for a given seed and thread count.
    public static func train(configuration: ImageClassifierConfiguration, images: Tensor, labels: [Int],
                             settings: TrainingSettings = TrainingSettings(), runDirectory: URL? = nil, checkpointEvery: Int = 500,
                             restart: Bool = false, progress: Bool = false, report: @escaping (String) -> Void = { _ in }) throws -> ImageClassifier {
        let trainer = try ImageClassifierTrainer(configuration: configuration, images: images, labels: labels, settings: settings)
        try ClassifierTrainingSupport.run(trainer, steps: trainer.totalSteps, runDirectory: runDirectory, checkpointEvery: checkpointEvery,
                                          restart: restart, progress: progress, report: report)
        return trainer.model
    }
}

/// `ImageClassifier`'s step for `TrainingRun`: cross-entropy on the next augmented batch; AdamW (no
/// clipping, no EMA) with a linear warm-up and a cosine decay to 2 % over every step of every epoch.
public final class ImageClassifierTrainer: StepTrainer {
    public let model: ImageClassifier
    public let settings: ImageClassifier.TrainingSettings
    public let update: ParameterUpdate
    /// Steps of the whole run: whole batches per epoch × epochs.
    public let totalSteps: Int
    /// Loss weight of each class (`TrainingSettings.classBalance`).
    public let classWeights: [Float]
    private var batches: ClassifierBatches

    public init(configuration: ImageClassifierConfiguration, images: Tensor, labels: [Int], settings: ImageClassifier.TrainingSettings) throws {
        let c = configuration
        guard images.rank == 4, images.shape[1] == c.channels, images.shape[2] == c.resolution, images.shape[3] == c.resolution else {
            throw FIDError("the classifier trains on images [N, \(c.channels), \(c.resolution), \(c.resolution)], got \(images.shape)")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= c.classNames.count }) {
            throw FIDError("training label \(bad) is outside the \(c.classNames.count) classes (leave unlabelled images out first)")
        }
        guard settings.epochs >= 1 else { throw FIDError("training needs at least 1 epoch, got \(settings.epochs)") }
        guard settings.classBalance >= 0, settings.classBalance.isFinite else {
            throw FIDError("the class balance exponent must be a finite number ≥ 0, got \(settings.classBalance)")
        }
        var counts = [Int](repeating: 0, count: c.classNames.count)
        for l in labels { counts[l] += 1 }
        let largest = Float(counts.max() ?? 1)
        classWeights = counts.map { $0 == 0 ? 0 : Float(pow(Double(largest / Float($0)), Double(settings.classBalance))) }
        let background = try BackgroundColour(parsing: c.background)
        let fill = (c.channels == 1 ? [background.red] : [background.red, background.green, background.blue]).map { Float($0) / 255 }
        batches = try ClassifierBatches(images: images, labels: labels, batchSize: settings.batchSize, horizontalFlips: settings.horizontalFlips,
                                        maxShift: settings.maxShift, fill: fill, seed: settings.seed)
        self.settings = settings
        model = try ImageClassifier(configuration: configuration, seed: settings.seed)
        totalSteps = batches.stepsPerEpoch * settings.epochs
        update = ClassifierTrainingSupport.update(model: model, learningRate: settings.learningRate, warmupSteps: settings.warmupSteps,
                                                  weightDecay: settings.weightDecay, totalSteps: totalSteps)
    }

    public func computeGradients() throws -> StepLoss {
        let (images, targets) = try batches.next()
        let loss = valueAndGradient(model, accumulatingInto: update.arena) { m in
            Self.weightedCrossEntropy(logits: m(images), targets: targets.toIntArray(), classWeights: classWeights)
        }
        return StepLoss(loss: loss, display: [("epoch", "\(batches.epoch + 1)/\(settings.epochs)")])
    }

    /// Σᵢ w(yᵢ)·(−log pᵢ[yᵢ]) / Σᵢ w(yᵢ): cross-entropy with per-class weights, normalised by the batch's
    /// weight (torch's `cross_entropy(weight=…)`); all weights 1 is the plain mean.
    static func weightedCrossEntropy(logits: Tensor, targets: [Int], classWeights: [Float]) -> Tensor {
        let (n, c) = (logits.shape[0], logits.shape[1])
        let total = targets.reduce(Float(0)) { $0 + classWeights[$1] }
        let weights = Tensor.zeros([n, c])
        for (i, k) in targets.enumerated() { weights.f32[i * c + k] = -classWeights[k] / Swift.max(total, .leastNormalMagnitude) }
        return (logits.logSoftmax(axis: -1) * weights).sum()
    }

    public func checkpointState() throws -> [String: String] { try batches.checkpointState() }

    public func restore(checkpointState: [String: String]) throws { try batches.restore(checkpointState: checkpointState) }
}
