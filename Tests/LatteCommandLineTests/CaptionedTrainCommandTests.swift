import Foundation
import LatteFormats
import XCTest

/// The real `latte` on a caption file: `train` trains on the captions and records sample prompts,
/// `generate --sheet` draws one row per sample prompt, and `eval` says what it cannot measure for a
/// model without classes instead of failing obscurely. Needs the smollm2 asset (fails without it).
final class CaptionedTrainCommandTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try LatteExecutable.runMerged(arguments)
    }

    func testTrainOnCaptionsThenSheetAndEval() throws {
        guard AssetCache().fileIfPresent(asset: "smollm2") != nil else {
            return XCTFail("asset smollm2 absent: run `latte assets fetch smollm2` first")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-captioned-cli-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("images"), withIntermediateDirectories: true)
        var lines: [String] = []
        let colours: [(String, [Int])] = [("red", [200, 30, 30]), ("green", [30, 180, 40]), ("blue", [30, 40, 200])]
        for (i, (name, rgb)) in colours.enumerated() {
            var pixels: [UInt8] = []
            for p in 0..<(20 * 24) {
                for c in rgb { pixels.append(UInt8(min(255, c + (p % 20) * 2))) }
                pixels.append(p % 7 == 0 ? 100 : 255)   // some transparency, flattened onto --background
            }
            try PNG.write(Image(width: 20, height: 24, channels: 4, pixels: pixels), to: dir.appendingPathComponent("images/\(i).png").path)
            lines.append(#"{"image": "images/\#(i).png", "caption": ["a \#(name) square", "\#(name)"]}"#)
        }
        let captions = dir.appendingPathComponent("captions.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: captions)
        let model = dir.appendingPathComponent("model").path

        let trained = try run(["train", "--data", captions.path, "--resolution", "32", "--background", "black",
                               "--autoencoder", Self.repository.appendingPathComponent("models/fashion-vae").path,
                               "--width", "16", "--mlp-width", "24", "--groups", "2", "--steps", "2", "--batch", "2", "--warmup", "1",
                               "--checkpoint-every", "0", "--threads", "1", "--sample-prompt", "a red square", "--sample-prompt", "a purple square",
                               "--run-dir", dir.appendingPathComponent("run").path, "--output", model])
        XCTAssertEqual(trained.status, 0, trained.output)
        XCTAssertTrue(trained.output.contains("training on captions: 3 images, 6 captions (6 distinct)"), trained.output)
        let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: model + "/model.json"))) as? [String: Any]
        XCTAssertEqual(manifest?["sample_prompts"] as? [String], ["a red square", "a purple square"])
        XCTAssertNil(manifest?["class_names"])

        let sheet = dir.appendingPathComponent("sheet.png").path
        let drawn = try run(["generate", "--model", model, "--sheet", "--count", "2", "--steps", "2", "--scale", "1", "--threads", "1", "--output", sheet])
        XCTAssertEqual(drawn.status, 0, drawn.output)
        XCTAssertTrue(drawn.output.contains("2 prompt(s) × 2 images"), drawn.output)
        let image = try PNG.read(sheet)
        XCTAssertEqual(image.height / image.width, 1, "two rows of two 32×32 images: \(image.width)×\(image.height)")

        let evaluated = try run(["eval", "--model", model, "--per-class", "1"])
        XCTAssertNotEqual(evaluated.status, 0)
        XCTAssertTrue(evaluated.output.contains("was trained on captions") && evaluated.output.contains("--sheet"), evaluated.output)
    }
}
