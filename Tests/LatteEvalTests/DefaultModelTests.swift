import Foundation
import LatteFlow
import LatteFormats
import LatteTensor
import XCTest
import LatteTestSupport
@testable import LatteEval

/// The committed default model (models/latteflow-fashion) end to end, as the README's main command
/// uses it: the folder (generator and its guide) loads strictly with the cached SmolLM2 backbone, and two
/// images per class at the model's default settings are recognised by the project's classifier.
final class DefaultModelTests: XCTestCase {
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    func testDefaultModelGeneratesImagesTheClassifierRecognises() throws {
        _ = try PinnedAssets.require("smollm2")
        let pipeline = try TextToImagePipeline.load(directory: Self.repository.appendingPathComponent("models/latteflow-fashion"))
        let phrases = try XCTUnwrap(pipeline.manifest.classPhrases)
        XCTAssertEqual(phrases.count, 10)
        XCTAssertNotNil(pipeline.guide, "the folder carries its autoguidance guide (model.json: guide_generator)")
        let prompts = phrases.flatMap { [$0[0], $0[1]] }
        let labels = phrases.indices.flatMap { [$0, $0] }
        let images = try pipeline.generate(prompts: prompts, settings: pipeline.settings(seed: 0))
        XCTAssertEqual(images.shape, [20, 1, 28, 28])
        XCTAssertTrue(images.toArray().allSatisfy(\.isFinite))

        let classifier = try FashionClassifier.load(directory: Self.repository.appendingPathComponent("models/fashion-classifier"))
        let accuracy = FashionClassifier.Accuracy(predictions: try classifier.predict(((images + 1) * 0.5).clamped(min: 0, max: 1)),
                                                  labels: labels)
        print("default model: \(accuracy.correct)/20 generated images classified as their prompt's class")
        XCTAssertGreaterThanOrEqual(accuracy.correct, DefaultModelTests.minimumCorrect,
                                    "only \(accuracy.correct) of 20 generated images were recognised as their prompt's class")
    }

    /// Measured on the committed weights (int8; Heun, 15 steps, guidance 1.25, autoguidance 2 with the folder's guide): 19 of 20 (AVX-512 kernels,
    /// this repository's machine), minus a margin for other CPUs' rounding (AVX2 vs AVX-512 kernels sum in different orders).
    static let minimumCorrect = 15
}
