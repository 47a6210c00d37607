import Foundation
import XCTest
import LatteFlow
import LatteModels

/// `latte train --generator-config FILE` and the shape flags: defaults ← file ← flags, errors naming
/// the key, the committed default model's recipe as the defaults, and the shipped example for the
/// paper's geometry.
final class GeneratorShapeOverridesTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-shape-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func file(_ json: String) throws -> URL {
        let url = dir.appendingPathComponent("generator-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: url)
        return url
    }

    func testAFileSetsTheShapeAndFlagsOverrideIt() throws {
        let url = try file(#"""
            {"comment": "a test", "groups": 4, "layers_per_group": 7, "width": 64, "mlp_width": 96, "query_heads": 6, "patch_size": 2,
             "residual_attention": "post_softmax", "input_skip": false, "absolute_positions": false, "attention_bias": true,
             "backbone_layers": "every:2"}
            """#)
        let fromFile = try GeneratorShape(file: url, flags: .init())
        XCTAssertEqual(fromFile, GeneratorShape(groups: 4, width: 64, mlpWidth: 96, residualAttention: .postSoftmax, inputSkip: false,
                                                absolutePositions: false, queryHeads: 6, patchSize: 2, layersPerGroup: 7, attentionBias: true,
                                                backboneLayers: .every(2)))
        let flags = GeneratorShape.Overrides(groups: 2, width: 32, inputSkip: true, backboneLayers: .list([0, 1, 2, 3]))
        let merged = try GeneratorShape(file: url, flags: flags)
        XCTAssertEqual([merged.groups, merged.width, merged.mlpWidth, merged.layersPerGroup], [2, 32, 96, 7])
        XCTAssertTrue(merged.inputSkip)
        XCTAssertFalse(merged.absolutePositions)
        XCTAssertEqual(merged.backboneLayers, .list([0, 1, 2, 3]))
        // No file: the defaults with the flags.
        XCTAssertEqual(try GeneratorShape(file: nil, flags: .init(width: 64)), GeneratorShape(width: 64))
        // An array of indices is a pairing too.
        XCTAssertEqual(try GeneratorShape(file: try file(#"{"backbone_layers": [1, 3]}"#), flags: .init()).backboneLayers, .list([1, 3]))
    }

    func testBadFilesAreRefusedNamingTheKey() throws {
        let cases: [(String, String)] = [
            (#"{"widht": 64}"#, #"unknown key "widht""#),
            (#"{"width": "wide"}"#, #""width" must be a whole number"#),
            (#"{"width": 64.5}"#, #""width" must be a whole number"#),
            (#"{"input_skip": 1}"#, #""input_skip" must be true or false"#),
            (#"{"residual_attention": "post"}"#, #""residual_attention" must be "pre_softmax", "post_softmax" or "off", got "post""#),
            (#"{"backbone_layers": "every:0"}"#, #""backbone_layers": backbone layers 'every:0'"#),
            (#"{"backbone_layers": true}"#, #""backbone_layers" must be"#),
            (#"{"kv_heads": 3}"#, #""kv_heads" is not a choice of the generator config file"#),
            (#"[1, 2]"#, "not a JSON object"),
            (#"{"width": 64"#, "not a JSON object"),
        ]
        for (json, message) in cases {
            XCTAssertThrowsError(try GeneratorShape(file: try file(json), flags: .init()), json) {
                XCTAssertTrue("\($0)".contains(message) && "\($0)".contains("generator config /"), "\(json): \($0)")
            }
        }
        // Values out of range, from the file or a flag, name the key and its flag.
        let ranges: [(String, String)] = [
            (#"{"width": 0}"#, "width (--width) must be at least 1, got 0"),
            (#"{"query_heads": -2}"#, "query_heads (--query-heads) must be at least 1"),
            (#"{"width": 18}"#, "absolute_positions needs a width (--width) divisible by 4"),
        ]
        for (json, message) in ranges {
            XCTAssertThrowsError(try GeneratorShape(file: try file(json), flags: .init()), json) { XCTAssertTrue("\($0)".contains(message), "\(json): \($0)") }
        }
        XCTAssertThrowsError(try GeneratorShape(file: nil, flags: .init(patchSize: 0))) {
            XCTAssertTrue("\($0)".contains("patch_size (--patch-size) must be at least 1"), "\($0)")
        }
        XCTAssertThrowsError(try GeneratorShape(file: dir.appendingPathComponent("absent.json"), flags: .init())) {
            XCTAssertTrue("\($0)".contains("absent.json: cannot read it"), "\($0)")
        }
        // A flag can repair what a file got wrong, as it overrides the file.
        XCTAssertEqual(try GeneratorShape(file: try file(#"{"width": 0}"#), flags: .init(width: 8)).width, 8)
    }

    /// The defaults are the recipe that produced models/latteflow-fashion: with SmolLM2's geometry and
    /// the default model's 8×8×8 latents they give exactly its generator.json (but the backbone's name).
    func testTheDefaultsRebuildTheCommittedDefaultModel() throws {
        let committed = try GeneratorConfiguration.load(from: Self.repository.appendingPathComponent("models/latteflow-fashion/generator.json"))
        let smolLM2 = BackboneGeometry(layerCount: 30, kvHeads: 3, headDim: 64, ropeTheta: 100_000)
        let c = try GeneratorConfiguration(backbone: committed.backbone, geometry: smolLM2, latentShape: [8, 8, 8],
                                           shape: try GeneratorShape(file: nil, flags: .init()))
        XCTAssertEqual(c, committed)
        XCTAssertEqual(TextToImageTrainingOptions().shape, GeneratorShape())
    }

    /// configs/qwen2vl-2b-paper.json on Qwen2-VL-2B's config.json (the structure fixture) and DC-AE
    /// f32c32 latents at 256²: the paper's K = 4 × 7 with the backbone's width, heads and MLP, so the
    /// layers can be copy-initialised, and its M-RoPE sections and θ.
    func testThePapersExampleConfigurationGivesItsGeometry() throws {
        let qwen = try Qwen2VLConfiguration(configJSON: Self.repository.appendingPathComponent(
            "Tests/LatteModelsTests/Fixtures/qwen2vl/qwen2vl-2b-structure/config.json")).text
        let geometry = BackboneGeometry(layerCount: qwen.layerCount, kvHeads: qwen.kvHeadCount, headDim: qwen.headDim,
                                        ropeTheta: qwen.ropeTheta, mropeSections: qwen.mropeSection)
        let shape = try GeneratorShape(file: Self.repository.appendingPathComponent("configs/qwen2vl-2b-paper.json"), flags: .init())
        let c = try GeneratorConfiguration(backbone: "Qwen2-VL-2B-Instruct", geometry: geometry, latentShape: [32, 8, 8], shape: shape)
        XCTAssertEqual([c.layerCount, c.groups, c.layersPerGroup, c.kvHeads, c.headDim], [28, 4, 7, 2, 128])
        XCTAssertEqual([c.width, c.queryHeads, c.mlpWidth, c.tokenCount], [qwen.hiddenSize, qwen.headCount, qwen.intermediateSize, 64])
        XCTAssertEqual(c.mropeSections, [16, 24, 24])
        XCTAssertEqual(c.ropeTheta, 1_000_000)
        XCTAssertTrue(c.attentionBias, "Qwen2's q/k/v biases have somewhere to be copied to")
        XCTAssertNil(c.backboneLayers)
    }
}
