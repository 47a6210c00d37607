import Foundation
import XCTest
import LatteNN
import LatteTensor
@testable import LatteEval

/// The category classifier (`ImageClassifier`): it learns a small synthetic RGB task well above chance,
/// saves and loads its folder exactly, refuses wrong inputs, and its augmentation moves pixels as stated.
final class ImageClassifierTests: XCTestCase {
    /// Class k = a 6×6 square of colour k (red, green, blue) at a random place on a noisy white 16×16 image.
    func squares(_ count: Int, seed: UInt64) -> (Tensor, [Int]) {
        var g = RandomGenerator(seed: seed)
        let images = Tensor.empty([count, 3, 16, 16])
        var labels: [Int] = []
        for i in 0..<count {
            let k = i % 3
            let (x0, y0) = (g.nextInt(below: 11), g.nextInt(below: 11))
            for c in 0..<3 {
                for y in 0..<16 {
                    for x in 0..<16 {
                        let inside = x >= x0 && x < x0 + 6 && y >= y0 && y < y0 + 6
                        let base: Float = inside ? (c == k ? 0.9 : 0.1) : 1
                        images.f32[((i * 3 + c) * 16 + y) * 16 + x] = min(max(base + 0.1 * (g.nextFloat() - 0.5), 0), 1)
                    }
                }
            }
            labels.append(k)
        }
        return (images, labels)
    }

    var configuration: ImageClassifierConfiguration {
        ImageClassifierConfiguration(channels: 3, resolution: 16, classNames: ["red", "green", "blue"], widths: [8, 16], normGroups: 4)
    }

    func testLearnsSyntheticColourSquaresWellAboveChanceAndRoundTripsItsFolder() throws {
        let (train, trainLabels) = squares(96, seed: 1)
        let (test, testLabels) = squares(48, seed: 2)
        var settings = ImageClassifier.TrainingSettings()
        settings.epochs = 8
        settings.batchSize = 16
        settings.warmupSteps = 4
        settings.learningRate = 3e-3
        let model = try ImageClassifier.train(configuration: configuration, images: train, labels: trainLabels, settings: settings)
        let predictions = try model.predict(test)
        let accuracy = CategoryAccuracy(predictions: predictions, labels: testLabels, classNames: configuration.classNames)
        XCTAssertGreaterThan(accuracy.fraction, 0.7, "chance is 1/3; got \(accuracy.fraction)")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-image-classifier-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.save(directory: dir, metadata: ["note": "test"], card: "# card\n")
        let loaded = try ImageClassifier.load(directory: dir)
        XCTAssertEqual(loaded.configuration, model.configuration)
        XCTAssertEqual(try loaded.predict(test), predictions)
        XCTAssertEqual(try String(contentsOf: dir.appendingPathComponent("README.md"), encoding: .utf8), "# card\n")
    }

    func testRefusesWrongShapesLabelsAndConfigurations() throws {
        let model = try ImageClassifier(configuration: configuration, seed: 1)
        XCTAssertThrowsError(try model.predict(Tensor.zeros([2, 1, 16, 16]))) { XCTAssertTrue("\($0)".contains("[N, 3, 16, 16]"), "\($0)") }
        XCTAssertThrowsError(try model.predict(Tensor.zeros([2, 3, 32, 32])))
        XCTAssertThrowsError(try ImageClassifierTrainer(configuration: configuration, images: Tensor.zeros([4, 3, 16, 16]), labels: [0, 1, 2, 3],
                                                        settings: .init())) { XCTAssertTrue("\($0)".contains("label 3"), "\($0)") }
        var bad = configuration
        bad.widths = [6]
        XCTAssertThrowsError(try ImageClassifier(configuration: bad, seed: 0)) { XCTAssertTrue("\($0)".contains("multiples"), "\($0)") }
        bad = configuration
        bad.classNames = ["one"]
        XCTAssertThrowsError(try ImageClassifier(configuration: bad, seed: 0)) { XCTAssertTrue("\($0)".contains("at least 2"), "\($0)") }
        XCTAssertThrowsError(try ImageClassifier.load(directory: URL(fileURLWithPath: "/nonexistent-classifier"))) {
            XCTAssertTrue("\($0)".contains("latte classifier train --data"), "\($0)")
        }
    }

    /// With shifts, a single lit pixel moves by at most `maxShift` in each direction, and the uncovered
    /// border takes the fill value; over many draws every offset occurs.
    func testRandomShiftsMoveByAtMostMaxShiftAndFillTheBorder() throws {
        let images = Tensor.zeros([1, 2, 5, 5])
        images.f32[2 * 5 + 2] = 1           // channel 0, (2, 2)
        var batches = try ClassifierBatches(images: images, labels: [0], batchSize: 1, horizontalFlips: false, maxShift: 1,
                                            fill: [0.5, 0.25], seed: 3)
        var offsets = Set<[Int]>()
        for _ in 0..<60 {
            let (batch, _) = try batches.next()
            let lit = (0..<25).filter { batch.f32[$0] == 1 }
            XCTAssertEqual(lit.count, 1)
            let (x, y) = (lit[0] % 5, lit[0] / 5)
            offsets.insert([x - 2, y - 2])
            XCTAssertLessThanOrEqual(abs(x - 2), 1)
            XCTAssertLessThanOrEqual(abs(y - 2), 1)
            // Channel 1 was all zeros: it holds zeros and, where the shift uncovered the border, its fill.
            XCTAssertTrue((25..<50).allSatisfy { batch.f32[$0] == 0 || batch.f32[$0] == 0.25 })
            if x != 2 || y != 2 { XCTAssertTrue((0..<25).contains { batch.f32[$0] == 0.5 }, "channel 0's border is filled") }
        }
        XCTAssertEqual(offsets.count, 9, "every shift in −1…1 × −1…1 occurs")
        XCTAssertThrowsError(try ClassifierBatches(images: images, labels: [0], batchSize: 1, horizontalFlips: false, maxShift: 1, fill: [1], seed: 0))
    }

    /// The class-weighted loss is the plain cross-entropy when every weight is equal, and weighs rows by
    /// their class otherwise; the trainer's weights follow (n_largest / n_c)^classBalance.
    func testClassWeightedCrossEntropyAndWeights() throws {
        var g = RandomGenerator(seed: 4)
        let logits = Tensor.normal([5, 3], generator: &g)
        let targets = [0, 2, 1, 0, 0]
        let plain = Tensor.crossEntropy(logits: logits, targets: Tensor(indices: targets)).item()
        XCTAssertEqual(ImageClassifierTrainer.weightedCrossEntropy(logits: logits, targets: targets, classWeights: [2, 2, 2]).item(), plain, accuracy: 1e-6)
        // Weights [1, 0, 0]: only the class-0 rows count, as their mean.
        let rows = (0..<5).map { i in Tensor.crossEntropy(logits: logits.sliced(axis: 0, i..<(i + 1)).contiguous(), targets: Tensor(indices: [targets[i]])).item() }
        XCTAssertEqual(ImageClassifierTrainer.weightedCrossEntropy(logits: logits, targets: targets, classWeights: [1, 0, 0]).item(),
                       (rows[0] + rows[3] + rows[4]) / 3, accuracy: 1e-5)

        let labels = [0, 0, 0, 0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2]   // 4, 1 and 11 images
        var settings = ImageClassifier.TrainingSettings()
        settings.batchSize = 4
        settings.classBalance = 0.5
        let trainer = try ImageClassifierTrainer(configuration: configuration, images: Tensor.zeros([16, 3, 16, 16]), labels: labels, settings: settings)
        XCTAssertEqual(trainer.classWeights[0], Float(11.0 / 4).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(trainer.classWeights[1], Float(11).squareRoot(), accuracy: 1e-5)
        XCTAssertEqual(trainer.classWeights[2], 1, accuracy: 1e-6)
        settings.classBalance = 0
        XCTAssertEqual(try ImageClassifierTrainer(configuration: configuration, images: Tensor.zeros([16, 3, 16, 16]), labels: labels,
                                                  settings: settings).classWeights, [1, 1, 1])
    }

    /// Balanced accuracy weighs every category the same; the majority share is what always naming the
    /// largest category scores; unlabelled items (−1) count nowhere; the JSON carries all three.
    func testCategoryAccuracyBalancedAndMajority() throws {
        let a = CategoryAccuracy(predictions: [0, 0, 0, 0, 0, 1, 1], labels: [0, 0, 0, 0, 1, 1, -1], classNames: ["big", "small"])
        XCTAssertEqual(a.total, 6)
        XCTAssertEqual(a.fraction, 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(a.balancedFraction, (1 + 0.5) / 2, accuracy: 1e-12)
        XCTAssertEqual(a.majorityFraction, 4.0 / 6, accuracy: 1e-12)
        let json = try JSONSerialization.jsonObject(with: try JSONEncoder().encode(a)) as! [String: Any]
        XCTAssertEqual(json["balanced"] as? Double ?? 0, 0.75, accuracy: 1e-12)
        XCTAssertEqual(json["fraction"] as? Double ?? 0, 5.0 / 6, accuracy: 1e-12)
        XCTAssertEqual(try JSONDecoder().decode(CategoryAccuracy.self, from: try JSONEncoder().encode(a)), a)
    }
}
