import Foundation
import XCTest
import LatteEval
import LatteFlow
import LatteFormats
import LatteModels
import LatteTestSupport
import LatteFlowTestSupport

/// `latte eval` on a captioned model: a tiny random RGB model whose model.json names an `evaluation`
/// (caption files with labels and a category classifier) is measured end to end by the real command —
/// generation from the held-out captions, the classifier, the FID network, memorisation — and the JSON
/// holds every number the protocol promises. Needs the smollm2 and fid-inception assets. `--skip-fid`
/// keeps it short (two 2048-d Fréchet distances take minutes on a busy machine; `CaptionedEvaluationTests`
/// checks the FID and its floor on small features).
final class CaptionedEvalCommandTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let r = try LatteExecutable.run(arguments, directory: Self.repository)
        return (r.status, r.stdout, r.stderr)
    }

    /// Caption files train.jsonl (4 images) and held-out.jsonl (3, one of category `unknown`) in `folder`.
    func writeData(_ folder: URL) throws {
        let colours: [[UInt8]] = [[230, 20, 20, 255], [20, 200, 20, 255], [200, 30, 60, 255], [40, 180, 90, 255],
                                  [210, 40, 40, 255], [30, 190, 30, 255], [90, 90, 220, 200]]
        let rows = [("red one", "a"), ("green one", "b"), ("red two", "a"), ("green two", "b"),
                    ("red three", "a"), ("green three", "b"), ("blue thing", "unknown")]
        var train: [String] = [], heldOut: [String] = []
        for (i, (caption, label)) in rows.enumerated() {
            try PNG.write(Image(width: 40, height: 40, channels: 4, fill: colours[i]), to: folder.appendingPathComponent("\(i).png").path)
            let line = #"{"image": "\#(i).png", "caption": "\#(caption)", "label": "\#(label)"}"#
            if i < 4 { train.append(line) } else { heldOut.append(line) }
        }
        try Data(train.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("train.jsonl"))
        try Data(heldOut.joined(separator: "\n").utf8).write(to: folder.appendingPathComponent("held-out.jsonl"))
    }

    /// A random generator on SmolLM2-135M's geometry with a 3-channel autoencoder (8×8 latents → 32×32
    /// RGB), and a random category classifier for 32×32 RGB beside it.
    func writeModel(_ folder: URL, data: URL) throws {
        try TinyTextToImageModel.write(to: folder.appendingPathComponent("model")) { manifest in
            manifest.evaluation = TextToImageEvaluation(data: data.appendingPathComponent("train.jsonl").path,
                                                        heldOut: data.appendingPathComponent("held-out.jsonl").path, classifier: "../classifier")
        }
        let classifier = try ImageClassifier(configuration: ImageClassifierConfiguration(channels: 3, resolution: 32, classNames: ["a", "b"],
                                                                                         widths: [8], normGroups: 4), seed: 5)
        try classifier.save(directory: folder.appendingPathComponent("classifier"))
    }

    func testEvalOfACaptionedModelReportsFIDAdherenceAndMemorisation() throws {
        _ = try PinnedAssets.require("smollm2")
        _ = try PinnedAssets.require("fid-inception")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("captioned-eval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try writeData(folder)
        try writeModel(folder, data: folder)
        let model = folder.appendingPathComponent("model").path

        let result = try run(["eval", "--model", model, "--json", "--skip-speed", "--skip-fid", "--seed", "40", "--batch", "2",
                              "--save-images", folder.appendingPathComponent("images").path])
        XCTAssertEqual(result.status, 0, result.output + result.errors)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any], result.output)
        XCTAssertEqual(object["generated_images"] as? Int, 3, "one image per held-out caption")
        XCTAssertEqual(object["held_out_images"] as? Int, 3)
        XCTAssertEqual(object["fid_images"] as? Int, 3)
        XCTAssertEqual(object["labelled_held_out_images"] as? Int, 2, "the `unknown` item has no category")
        XCTAssertEqual(object["training_images"] as? Int, 4)
        XCTAssertEqual(object["first_seed"] as? Int, 40)
        XCTAssertEqual(object["steps"] as? Int, 2)
        XCTAssertEqual(object["solver"] as? String, "euler")
        XCTAssertNotNil(object["guidance"])
        XCTAssertNil(object["fid"], "--skip-fid")
        XCTAssertNotNil(object["adherence_gap_points"] as? Double)
        XCTAssertEqual((object["adherence"] as? [String: Any])?["total"] as? Int, 2)
        XCTAssertEqual((object["classifier_accuracy"] as? [String: Any])?["total"] as? Int, 2)
        let memorisation = try XCTUnwrap(object["memorisation"] as? [String: Any])
        XCTAssertEqual(memorisation["percentile"] as? Double, 5)
        XCTAssertNotNil(memorisation["threshold"] as? Double)
        XCTAssertNotNil(memorisation["fraction"] as? Double)
        XCTAssertEqual(memorisation["training"] as? Int, 4)
        XCTAssertTrue((object["classifier"] as? String)?.hasSuffix("/classifier") == true, "\(object["classifier"] ?? "none")")
        let images = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("images").path).sorted()
        XCTAssertEqual(images, ["00000-red-three.png", "00001-green-three.png", "00002-blue-thing.png"])

        // A classifier for other images is refused with both shapes named.
        let grey = try ImageClassifier(configuration: ImageClassifierConfiguration(channels: 1, resolution: 32, classNames: ["a", "b"],
                                                                                   widths: [8], normGroups: 4), seed: 5)
        try grey.save(directory: folder.appendingPathComponent("grey"))
        let refused = try run(["eval", "--model", model, "--classifier", folder.appendingPathComponent("grey").path, "--skip-speed"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.errors.contains("3-channel 32×32") && refused.errors.contains("1-channel"), refused.errors)
    }
}
