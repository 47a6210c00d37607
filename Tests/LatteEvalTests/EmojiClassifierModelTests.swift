import Foundation
import LatteFormats
import LatteTestSupport
import XCTest
@testable import LatteEval

/// The committed category classifier (models/emoji-classifier, trained by `latte classifier train
/// --data emoji`) still scores what its card states on the emoji held-out split.
final class EmojiClassifierModelTests: XCTestCase {
    func testCommittedWeightsScoreTheCardsHeldOutAccuracy() throws {
        _ = try PinnedAssets.require("emojione")
        _ = try PinnedAssets.require("twemoji")
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("models/emoji-classifier")
        let classifier = try ImageClassifier.load(directory: folder)
        let names = classifier.configuration.classNames
        XCTAssertEqual(names.count, 9)
        let heldOut = try LabelledImageSet.load(try EmojiDataset.pinned(split: .test), preparation: try classifier.configuration.preparation)
        let accuracy = CategoryAccuracy(predictions: try classifier.predict(heldOut.images), labels: heldOut.labels(in: names), classNames: names)
        // The card: 460 of 556 labelled held-out images (82.73 %), 63.24 % with every category weighted equally.
        XCTAssertEqual(accuracy.total, 556)
        XCTAssertEqual(accuracy.fraction, 0.8273, accuracy: 0.005)
        XCTAssertEqual(accuracy.balancedFraction, 0.6324, accuracy: 0.01)
    }
}
