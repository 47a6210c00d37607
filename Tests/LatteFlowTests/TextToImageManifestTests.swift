import Foundation
import XCTest
import LatteFlow

/// `model.json` parsing: the optional `default_solver`, `default_guidance_interval` and guide keys
/// (added after the first committed models).
final class TextToImageManifestTests: XCTestCase {
    func manifest(_ extra: String) throws -> TextToImageManifest {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latte-manifest-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        let text = """
        {"format": "\(TextToImageManifest.currentFormat)", "backbone": "smollm2", "generator": "generator.json",
         "weights": "generator.safetensors", "autoencoder": "../fashion-vae", "prompt_start_token": "<|im_start|>",
         "crop": 2, "default_steps": 15, "default_guidance": 2, "default_shift": 1\(extra)}
        """
        try Data(text.utf8).write(to: url)
        return try TextToImageManifest.load(from: url)
    }

    func testSolverIsOptionalAndRoundTrips() throws {
        XCTAssertNil(try manifest("").defaultSolver, "older folders have no default_solver: the pipeline uses Euler")
        let heun = try manifest(#", "default_solver": "heun""#)
        XCTAssertEqual(heun.defaultSolver, .heun)
        XCTAssertEqual(heun.defaultSteps, 15)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latte-manifest-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try heun.save(to: url)
        XCTAssertEqual(try TextToImageManifest.load(from: url), heun)
    }

    func testUnknownSolverIsNamed() {
        XCTAssertThrowsError(try manifest(#", "default_solver": "rk4""#)) { XCTAssertTrue("\($0)".contains("rk4"), "\($0)") }
    }

    func testGuidanceIntervalIsOptionalAndChecked() throws {
        XCTAssertEqual(try manifest("").guidanceInterval, 0...1, "absent: guidance everywhere")
        XCTAssertEqual(try manifest(#", "default_guidance_interval": [0.2, 0.9]"#).guidanceInterval, 0.2...0.9)
        for bad in ["[0.9, 0.2]", "[0.2]", "[-0.1, 0.5]", "[0.5, 1.5]"] {
            XCTAssertThrowsError(try manifest(#", "default_guidance_interval": "# + bad)) {
                XCTAssertTrue("\($0)".contains("default_guidance_interval"), "\($0)")
            }
        }
    }

    /// A captioned model records sample prompts instead of classes; a folder without either still loads.
    func testSamplePromptsAreOptionalAndMakeTheSheet() throws {
        let older = try manifest("")
        XCTAssertNil(older.samplePrompts)
        XCTAssertNil(older.sheetPrompts, "neither classes nor sample prompts: no sheet")
        let classes = try manifest(#", "class_names": ["Bag"], "class_phrases": [["a bag", "a handbag"]]"#)
        XCTAssertEqual(classes.sheetPrompts, ["a bag"], "a class model's sheet: each class's first phrase")
        let captioned = try manifest(#", "sample_prompts": ["red heart", "a smiling cat"]"#)
        XCTAssertEqual(captioned.sheetPrompts, ["red heart", "a smiling cat"])
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latte-manifest-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try captioned.save(to: url)
        XCTAssertTrue(try String(contentsOf: url, encoding: .utf8).contains("\"sample_prompts\""))
        XCTAssertEqual(try TextToImageManifest.load(from: url), captioned)
        for (extra, expected) in [(#", "sample_prompts": ["ok", ""]"#, "sample_prompts"), (#", "class_phrases": [["a"], []]"#, "class_phrases")] {
            XCTAssertThrowsError(try manifest(extra)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }

    func testGuideKeysAreOptionalAndChecked() throws {
        let none = try manifest("")
        XCTAssertNil(none.guideGenerator)
        XCTAssertNil(none.defaultGuideWeight)
        let guided = try manifest(#", "guide_generator": "guide.json", "guide_weights": "guide.safetensors", "default_guide_weight": 2.5"#)
        XCTAssertEqual(guided.guideWeights, "guide.safetensors")
        XCTAssertEqual(guided.defaultGuideWeight, 2.5)
        let cases = [(#", "guide_generator": "guide.json""#, "guide_weights"),
                     (#", "default_guide_weight": 2"#, "no guide_generator"),
                     (#", "guide_generator": "g.json", "guide_weights": "g.safetensors", "default_guide_weight": 0.5"#, "at least 1")]
        for (extra, expected) in cases {
            XCTAssertThrowsError(try manifest(extra)) { XCTAssertTrue("\($0)".contains(expected), "\($0)") }
        }
    }

    func testEvaluationIsOptionalRoundTripsAndResolvesTheClassifier() throws {
        XCTAssertNil(try manifest("").evaluation, "class-conditional folders name no evaluation set")
        let captioned = try manifest(#", "evaluation": {"data": "emoji", "classifier": "../emoji-classifier"}"#)
        XCTAssertEqual(captioned.evaluation, TextToImageEvaluation(data: "emoji", classifier: "../emoji-classifier"))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latte-manifest-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try captioned.save(to: url)
        XCTAssertEqual(try TextToImageManifest.load(from: url), captioned)
        XCTAssertTrue(String(decoding: try Data(contentsOf: url), as: UTF8.self).contains("\"evaluation\""))
        XCTAssertEqual(try manifest(#", "evaluation": {"data": "a.jsonl", "held_out": "b.jsonl", "classifier": "c"}"#).evaluation?.heldOut, "b.jsonl")
        XCTAssertThrowsError(try manifest(#", "evaluation": {"data": "", "classifier": "c"}"#)) { XCTAssertTrue("\($0)".contains("evaluation"), "\($0)") }
        XCTAssertThrowsError(try manifest(#", "evaluation": {"data": "emoji"}"#)) { XCTAssertTrue("\($0)".contains("classifier"), "\($0)") }

        // A relative classifier path: beside the model folder when it exists there, else the working directory's.
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("latte-eval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let modelFolder = root.appendingPathComponent("models/m")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("models/emoji-classifier"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: modelFolder, withIntermediateDirectories: true)
        XCTAssertEqual(TextToImageEvaluation(data: "emoji", classifier: "../emoji-classifier").classifierDirectory(modelDirectory: modelFolder).path,
                       root.appendingPathComponent("models/emoji-classifier").standardizedFileURL.path)
        XCTAssertEqual(TextToImageEvaluation(data: "emoji", classifier: "models/nowhere").classifierDirectory(modelDirectory: modelFolder).path,
                       URL(fileURLWithPath: "models/nowhere").path)
        XCTAssertEqual(TextToImageEvaluation(data: "emoji", classifier: "/abs/c").classifierDirectory(modelDirectory: modelFolder).path, "/abs/c")
    }
}
