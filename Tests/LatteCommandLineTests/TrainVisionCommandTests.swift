import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTestSupport
import XCTest

/// `latte train-vision --init-from`: a run starts from a trained folder's projector (so a long training
/// can continue across runs) and refuses a folder made for another token layout. Real assets (SmolLM2,
/// EfficientNet-Lite0, Fashion-MNIST), 8 images, one step.
final class TrainVisionCommandTests: XCTestCase {
    func testInitFromStartsFromTheGivenProjectorAndRefusesAnotherLayout() throws {
        try LatteExecutable.require()
        for asset in ["smollm2", "efficientnet-lite0", "fashion-mnist"] { _ = try PinnedAssets.require(asset) }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("train-vision-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var g = RandomGenerator(seed: 11)
        let start = ImageTokenProjector(encoderChannels: 1280, width: 576, generator: &g)
        let from = dir.appendingPathComponent("from")
        try VisionModelConfiguration(inputSize: 64, grid: 2, encoderChannels: 1280, width: 576).save(projector: start, to: from)

        // One step at a vanishing learning rate, EMA decay 0: the export is the starting projector
        // (AdamW moves each weight by at most about lr), far from a fresh random one.
        let common = ["train-vision", "--train-images", "8", "--digit-repeats", "0", "--emoji-repeats", "0", "--input-size", "64", "--grid", "2",
                      "--steps", "1", "--batch", "2", "--lr", "1e-9", "--warmup", "1", "--ema-decay", "0", "--eval-images", "0", "--threads", "1"]
        let out = dir.appendingPathComponent("out")
        let r = try LatteExecutable.run(common + ["--run-dir", dir.appendingPathComponent("run").path, "--output", out.path, "--init-from", from.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stderr.contains("projector initialised from"), r.stderr)
        let (_, trained) = try VisionModelConfiguration.load(folder: out)
        let before = Dictionary(uniqueKeysWithValues: start.namedParameters().map { ($0.key, $0.parameter.value.toFloat32().toArray()) })
        var largest: Float = 0
        for (key, p) in trained.namedParameters() {
            let a = try XCTUnwrap(before[key], key), b = p.value.toFloat32().toArray()
            XCTAssertEqual(a.count, b.count, key)
            for (x, y) in zip(a, b) { largest = max(largest, abs(x - y)) }
        }
        XCTAssertLessThan(largest, 1e-5, "the exported projector moved away from --init-from's weights")

        // A folder made for another grid (its tokens mean something else) is refused by name.
        let other = dir.appendingPathComponent("grid3")
        try VisionModelConfiguration(inputSize: 64, grid: 3, encoderChannels: 1280, width: 576).save(projector: start, to: other)
        let refused = try LatteExecutable.run(common + ["--run-dir", dir.appendingPathComponent("run2").path, "--output", dir.appendingPathComponent("out2").path,
                                                        "--init-from", other.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("grid3") && refused.stderr.contains("grid 3"), refused.stderr)
        let missing = try LatteExecutable.run(common + ["--run-dir", dir.appendingPathComponent("run3").path, "--output", dir.appendingPathComponent("out3").path,
                                                        "--init-from", dir.path])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.stderr.contains("no vision.json"), missing.stderr)
    }
}
