import Foundation
import LatteFormats
import LatteTensor
import XCTest
import LatteTestSupport
@testable import LatteEval

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
        let trained = FashionClassifier.train(images: images, labels: labels, settings: settings)
        XCTAssertLessThan(loss(trained), loss(untrained) * 0.5)
    }
}
