import Foundation
import LatteFormats
import LatteNN
import LatteTensor

/// A small CNN that labels 28×28 grey Fashion-MNIST images (values in [0, 1]), used to measure
/// whether generated images show the prompted class.
///
///     conv 3×3, 1→32, pad 1, ReLU            28×28
///     conv 3×3, 32→64, stride 2, pad 1, ReLU 14×14
///     conv 3×3, 64→64, stride 2, pad 1, ReLU 7×7
///     linear 3136→128, ReLU; linear 128→10
///
/// Strided convolutions stand in for pooling (the tensor library has no max-pool op).
public final class FashionClassifier: Module {
    public static let classNames = IDXDataset.fashionMNISTClasses
    public static let weightsFileName = "model.safetensors"

    let conv1: Conv2d
    let conv2: Conv2d
    let conv3: Conv2d
    let fc1: Linear
    let fc2: Linear

    /// A randomly initialised classifier (torch's default initialisation), seeded.
    public init(seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        conv1 = Conv2d(1, 32, kernelSize: 3, padding: 1, generator: &g)
        conv2 = Conv2d(32, 64, kernelSize: 3, stride: 2, padding: 1, generator: &g)
        conv3 = Conv2d(64, 64, kernelSize: 3, stride: 2, padding: 1, generator: &g)
        fc1 = Linear(64 * 7 * 7, 128, generator: &g)
        fc2 = Linear(128, 10, generator: &g)
    }

    /// Loads `model.safetensors` from a folder written by `train` (strict: every key, every shape).
    public static func load(directory: URL) throws -> FashionClassifier {
        let model = FashionClassifier(seed: 0)
        let url = directory.appendingPathComponent(weightsFileName)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw FIDError("\(url.path): no classifier weights (train them with `latte classifier train --output \(directory.path)`)")
        }
        try model.loadSafetensors(url)
        return model
    }

    /// Logits [N, 10] of images [N, 1, 28, 28].
    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv1(x).relu()
        h = conv2(h).relu()
        h = conv3(h).relu()
        h = fc1(h.reshaped([x.shape[0], 64 * 7 * 7])).relu()
        return fc2(h)
    }

    /// Predicted class of each image [N, 1, 28, 28] in [0, 1].
    public func predict(_ images: Tensor, batchSize: Int = 500) throws -> [Int] {
        guard images.rank == 4, images.shape[1] == 1, images.shape[2] == 28, images.shape[3] == 28 else {
            throw FIDError("the Fashion-MNIST classifier takes images [N, 1, 28, 28] in [0, 1], got \(images.shape)")
        }
        var out: [Int] = []
        out.reserveCapacity(images.shape[0])
        var start = 0
        while start < images.shape[0] {
            let end = min(start + batchSize, images.shape[0])
            let logits = withoutGradient { self(images.sliced(axis: 0, start..<end).contiguous()) }
            out += logits.argmax(axis: 1).toIntArray()
            start = end
        }
        return out
    }

    // MARK: - Training

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

    public struct Accuracy: Sendable {
        public let correct: Int
        public let total: Int
        public let perClass: [(correct: Int, total: Int)]
        public var fraction: Double { Double(correct) / Double(max(total, 1)) }

        public init(predictions: [Int], labels: [Int], classes: Int = 10) {
            var per = [(correct: Int, total: Int)](repeating: (0, 0), count: classes)
            var correct = 0
            for (p, l) in zip(predictions, labels) where l >= 0 && l < classes {
                per[l].total += 1
                if p == l { per[l].correct += 1; correct += 1 }
            }
            self.correct = correct
            self.total = min(predictions.count, labels.count)
            self.perClass = per
        }
    }

    /// AdamW with a cosine schedule over `epochs` passes of the training images; `log` receives
    /// progress lines. Deterministic for a given seed and thread count.
    public static func train(images: Tensor, labels: [Int], settings: TrainingSettings = TrainingSettings(),
                             log: (String) -> Void = { _ in }) -> FashionClassifier {
        let model = FashionClassifier(seed: settings.seed)
        let arena = ParameterArena(packing: model)
        let optimizer = AdamW(arena: arena, weightDecay: settings.weightDecay, noDecay: AdamW.normsAndBiases)
        let n = images.shape[0]
        let stepsPerEpoch = n / settings.batchSize
        let totalSteps = stepsPerEpoch * settings.epochs
        let schedule = LearningRateSchedule.cosine(from: settings.learningRate, to: settings.learningRate * 0.02, steps: totalSteps).warmup(settings.warmupSteps)
        var generator = RandomGenerator(seed: settings.seed ^ 0x5EED)
        let pixels = 28 * 28
        let source = images.contiguous()
        var step = 0
        let start = Date()
        for epoch in 0..<settings.epochs {
            var order = Array(0..<n)
            for i in stride(from: n - 1, to: 0, by: -1) { order.swapAt(i, generator.nextInt(below: i + 1)) }
            var lossSum = 0.0
            for b in 0..<stepsPerEpoch {
                let batch = Tensor.empty([settings.batchSize, 1, 28, 28])
                var targets: [Int] = []
                for j in 0..<settings.batchSize {
                    let index = order[b * settings.batchSize + j]
                    let src = source.f32 + index * pixels, dst = batch.f32 + j * pixels
                    if settings.horizontalFlips && generator.nextFloat() < 0.5 {
                        for y in 0..<28 { for x in 0..<28 { dst[y * 28 + x] = src[y * 28 + 27 - x] } }
                    } else {
                        dst.update(from: src, count: pixels)
                    }
                    targets.append(labels[index])
                }
                let targetTensor = Tensor(indices: targets)
                arena.zeroGradients()
                let loss = valueAndGradient(model, accumulatingInto: arena) { m in
                    Tensor.crossEntropy(logits: m(batch), targets: targetTensor)
                }
                optimizer.update(learningRate: schedule(step))
                step += 1
                lossSum += Double(loss)
                if (b + 1) % 200 == 0 || b + 1 == stepsPerEpoch {
                    log(String(format: "epoch %d/%d step %d/%d loss %.4f lr %.2e %.0fs", epoch + 1, settings.epochs, b + 1,
                               stepsPerEpoch, lossSum / Double(b + 1), schedule(step), Date().timeIntervalSince(start)))
                }
            }
        }
        withExtendedLifetime(source) {}
        return model
    }

    /// Writes the weights (with training facts as metadata) to `directory/model.safetensors`.
    public func save(directory: URL, metadata: [String: String]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try saveSafetensors(directory.appendingPathComponent(Self.weightsFileName), metadata: metadata)
    }
}
