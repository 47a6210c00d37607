import Foundation
import LatteFormats
import LatteTensor
import XCTest
import LatteTestSupport
@testable import LatteEval
import LatteNN

/// The committed classifier (models/fashion-classifier, trained by `latte classifier train`).
final class FashionClassifierTests: XCTestCase {
    static var modelDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/fashion-classifier")
    }

    func testCommittedWeightsReachNinetyPercentOnTheFirstThousandTestImages() throws {
        _ = try PinnedAssets.require("fashion-mnist")
        let model = try FashionClassifier.load(directory: Self.modelDirectory)
        let test = try EvaluationImages.fashionMNIST(split: .test, limit: 1000)
        let accuracy = FashionClassifier.Accuracy(predictions: try model.predict(test.images), labels: test.labels)
        XCTAssertEqual(accuracy.total, 1000)
        XCTAssertGreaterThanOrEqual(accuracy.fraction, 0.90, "accuracy \(accuracy.fraction) on the first 1000 test images")
    }

    func testRejectsWrongShapesAndMissingWeights() throws {
        let model = FashionClassifier(seed: 1)
        XCTAssertThrowsError(try model.predict(Tensor.zeros([2, 3, 28, 28])))
        XCTAssertThrowsError(try FashionClassifier.load(directory: URL(fileURLWithPath: "/nonexistent-classifier"))) { error in
            XCTAssertTrue("\(error)".contains("latte classifier train"), "\(error)")
        }
    }

    func testAccuracyCountsPerClass() {
        let a = FashionClassifier.Accuracy(predictions: [0, 1, 1, 2], labels: [0, 1, 2, 2], classes: 3)
        XCTAssertEqual(a.correct, 3)
        XCTAssertEqual(a.perClass[2].correct, 1)
        XCTAssertEqual(a.perClass[2].total, 2)
        XCTAssertEqual(a.fraction, 0.75)
    }

    func testShortTrainingLowersTheLoss() throws {
        // A few steps on easy synthetic data (class k = a bright band at rows 2k…2k+3, plus noise)
        // must reduce the loss: the training loop wires gradients through every layer.
        var g = RandomGenerator(seed: 11)
        let labels = (0..<128).map { $0 % 10 }
        let images = Tensor.uniform([128, 1, 28, 28], low: 0, high: 0.3, generator: &g)
        for (i, k) in labels.enumerated() {
            for y in (2 * k)..<(2 * k + 4) { for x in 0..<28 { images.f32[i * 784 + y * 28 + x] = 1 } }
        }
        var settings = FashionClassifier.TrainingSettings()
        settings.epochs = 1
        settings.batchSize = 128
        settings.horizontalFlips = false
        settings.warmupSteps = 0
        let untrained = FashionClassifier(seed: settings.seed)
        func loss(_ m: FashionClassifier) -> Float {
            withoutGradient { Tensor.crossEntropy(logits: m(images), targets: Tensor(indices: labels)).item() }
        }
        settings.epochs = 12
        settings.learningRate = 3e-3
        let trained = try FashionClassifier.train(images: images, labels: labels, settings: settings)
        XCTAssertLessThan(loss(trained), loss(untrained) * 0.5)
    }

    /// Stopped inside the second epoch and resumed from its checkpoint, the classifier ends with the
    /// weights of an uninterrupted run: the shuffle of the epoch and the flips replay exactly.
    func testResumedTrainingEndsWithTheUninterruptedWeights() throws {
        var g = RandomGenerator(seed: 12)
        let images = Tensor.uniform([40, 1, 28, 28], low: 0, high: 1, generator: &g)
        let labels = (0..<40).map { $0 % 10 }
        var settings = FashionClassifier.TrainingSettings()
        settings.epochs = 3
        settings.batchSize = 16   // 2 batches per epoch, 8 images left out of each
        settings.warmupSteps = 2
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-classifier-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }

        let reference = try FashionClassifierTrainer(images: images, labels: labels, settings: settings)
        var expected: [Float] = []
        try TrainingRun(trainer: reference, options: .init(directory: nil, steps: reference.totalSteps)).run(onStep: { expected.append($0.loss) })
        XCTAssertEqual(expected.count, 6)

        let first = try FashionClassifierTrainer(images: images, labels: labels, settings: settings)
        var losses: [Float] = []
        try TrainingRun(trainer: first, options: .init(directory: dir, steps: 6, stopAfter: 3)).run(onStep: { losses.append($0.loss) })
        let second = try FashionClassifierTrainer(images: images, labels: labels, settings: settings)
        let resumed = try TrainingRun(trainer: second, options: .init(directory: dir, steps: 6))
        XCTAssertEqual(resumed.step, 3)
        try resumed.run(onStep: { losses.append($0.loss) })
        XCTAssertEqual(losses, expected)
        XCTAssertEqual(second.model.parameterTensors().mapValues { $0.toArray() }, reference.model.parameterTensors().mapValues { $0.toArray() })
    }
}
