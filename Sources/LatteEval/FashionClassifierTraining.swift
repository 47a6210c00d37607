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
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(
            directory: runDirectory, steps: trainer.totalSteps, checkpointEvery: checkpointEvery, restart: restart,
            progressLabel: progress ? "classifier" : nil), report: report)
        try run.run()
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
        batches = try ClassifierBatches(images: images, labels: labels, batchSize: settings.batchSize,
                                        horizontalFlips: settings.horizontalFlips, seed: settings.seed)
        self.settings = settings
        model = FashionClassifier(seed: settings.seed)
        totalSteps = batches.stepsPerEpoch * settings.epochs
        let arena = ParameterArena(packing: model)
        let schedule = LearningRateSchedule.cosine(from: settings.learningRate, to: settings.learningRate * 0.02, steps: totalSteps)
            .warmup(settings.warmupSteps)
        update = ParameterUpdate(model: model, arena: arena,
                                 optimizer: AdamW(arena: arena, weightDecay: settings.weightDecay, noDecay: AdamW.normsAndBiases),
                                 ema: nil, schedule: schedule, clipNorm: 0)
    }

    public func computeGradients() throws -> StepLoss {
        let (images, targets) = try batches.next()
        let loss = valueAndGradient(model, accumulatingInto: update.arena) { m in Tensor.crossEntropy(logits: m(images), targets: targets) }
        return StepLoss(loss: loss, display: [("epoch", "\(batches.epoch + 1)/\(settings.epochs)")])
    }

    public func checkpointState() throws -> [String: String] { ["data": try batches.savedState()] }

    public func restore(checkpointState: [String: String]) throws {
        guard let data = checkpointState["data"] else {
            throw TrainingError(message: "not a classifier training checkpoint (no data position)")
        }
        try batches.restore(data)
    }
}

/// The classifier's batches: each epoch a Fisher-Yates shuffle of the images, then whole batches in
/// that order with random left-right flips, all drawn from one generator seeded by `seed ^ 0x5EED`.
/// Its saved position is the epoch, the batch, and the generator at the epoch's start (which replays
/// the shuffle) and now.
struct ClassifierBatches: ResumableBatches {
    let images: Tensor
    let labels: [Int]
    let batchSize: Int
    let horizontalFlips: Bool
    let stepsPerEpoch: Int
    private(set) var epoch = 0
    private(set) var batch = 0
    private var generator: RandomGenerator
    private var epochStart: RandomGenerator
    private var order: [Int]

    struct State: Codable { var epoch: Int; var batch: Int; var epochStart: RandomGenerator; var generator: RandomGenerator }

    init(images: Tensor, labels: [Int], batchSize: Int, horizontalFlips: Bool, seed: UInt64) throws {
        guard images.rank == 4, images.shape[1] == 1, images.shape[2] == 28, images.shape[3] == 28, images.shape[0] == labels.count else {
            throw FIDError("the classifier trains on images [N, 1, 28, 28] with N labels, got \(images.shape) and \(labels.count) labels")
        }
        guard batchSize >= 1, labels.count >= batchSize else {
            throw FIDError("a batch of \(batchSize) needs at least that many training images, got \(labels.count)")
        }
        self.images = images.contiguous()
        self.labels = labels
        self.batchSize = batchSize
        self.horizontalFlips = horizontalFlips
        stepsPerEpoch = labels.count / batchSize
        generator = RandomGenerator(seed: seed ^ 0x5EED)
        epochStart = generator
        order = Self.shuffled(count: labels.count, generator: &generator)
    }

    static func shuffled(count n: Int, generator: inout RandomGenerator) -> [Int] {
        var order = Array(0..<n)
        for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, generator.nextInt(below: i + 1)) }
        return order
    }

    mutating func next() throws -> (Tensor, Tensor) {
        if batch == stepsPerEpoch {
            epoch += 1
            batch = 0
            epochStart = generator
            order = Self.shuffled(count: labels.count, generator: &generator)
        }
        let pixels = 28 * 28
        let out = Tensor.empty([batchSize, 1, 28, 28])
        var targets: [Int] = []
        withExtendedLifetime(images) {
            for j in 0..<batchSize {
                let index = order[batch * batchSize + j]
                let src = images.f32 + index * pixels, dst = out.f32 + j * pixels
                if horizontalFlips && generator.nextFloat() < 0.5 {
                    for y in 0..<28 { for x in 0..<28 { dst[y * 28 + x] = src[y * 28 + 27 - x] } }
                } else {
                    dst.update(from: src, count: pixels)
                }
                targets.append(labels[index])
            }
        }
        batch += 1
        return (out, Tensor(indices: targets))
    }

    func savedState() throws -> String {
        String(decoding: try JSONEncoder().encode(State(epoch: epoch, batch: batch, epochStart: epochStart, generator: generator)), as: UTF8.self)
    }

    mutating func restore(_ state: String) throws {
        let s = try JSONDecoder().decode(State.self, from: Data(state.utf8))
        guard s.batch >= 0, s.batch <= stepsPerEpoch, s.epoch >= 0 else {
            throw FIDError("classifier data position \(state) does not fit \(stepsPerEpoch) batches per epoch")
        }
        var g = s.epochStart
        order = Self.shuffled(count: labels.count, generator: &g)
        epoch = s.epoch
        batch = s.batch
        epochStart = s.epochStart
        generator = s.generator
    }
}
