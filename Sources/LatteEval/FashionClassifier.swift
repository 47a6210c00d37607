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
        return ClassifierTrainingSupport.predictedClasses(images, batchSize: batchSize) { self($0) }
    }

    // MARK: - Accuracy and saving (training: FashionClassifierTraining.swift)

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

    /// Writes the weights (with training facts as metadata) to `directory/model.safetensors`.
    public func save(directory: URL, metadata: [String: String]) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try saveSafetensors(directory.appendingPathComponent(Self.weightsFileName), metadata: metadata)
    }
}
