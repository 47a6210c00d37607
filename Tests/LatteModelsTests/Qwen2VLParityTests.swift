import Foundation
import LatteFormats
import LatteModels
import LatteTensor
import XCTest

/// Tiny random Qwen2VLForConditionalGeneration checkpoints against transformers (fp32): vision tower,
/// rope index, full logits for text-only and image+text prompts, cached decoding, greedy continuation.
final class Qwen2VLParityTests: XCTestCase {
    private func load(_ name: String) throws -> (Qwen2VLModel, [String: Tensor], Qwen2VLVisionInput) {
        let model = try Qwen2VLModel.load(huggingFaceFolder: Qwen2VLFixtures.folder(name))
        let ref = try Qwen2VLFixtures.reference(name)
        let grids = Qwen2VLFixtures.grids(try XCTUnwrap(ref["image_grid_thw"]))
        return (model, ref, try Qwen2VLFixtures.vision(name, count: grids.count))
    }

    func testConfigurationsReadBothLayouts() throws {
        let a = try Qwen2VLConfiguration(configJSON: Qwen2VLFixtures.folder("tiny-a").appendingPathComponent("config.json"))
        XCTAssertEqual(a.text.mropeSection, [2, 2, 2])
        XCTAssertEqual(a.text.kvHeadCount, 1)
        XCTAssertEqual(a.text.ropeTheta, 1000)
        XCTAssertEqual(a.vision.hiddenAct, "quick_gelu")
        XCTAssertFalse(a.tieWordEmbeddings)
        let b = try Qwen2VLConfiguration(configJSON: Qwen2VLFixtures.folder("tiny-b").appendingPathComponent("config.json"))
        XCTAssertEqual(b.text.mropeSection, [1, 4, 2])
        XCTAssertEqual(b.text.ropeTheta, 5000)
        XCTAssertEqual(b.vision.inChannels, 3)
        XCTAssertEqual(b.vision.mlpHiddenSize, 120)
        XCTAssertTrue(b.tieWordEmbeddings)
        XCTAssertTrue(Qwen2VLConfiguration.describesQwen2VL(folder: try Qwen2VLFixtures.folder("tiny-b")))
    }

    /// The Hub's Qwen2-VL-2B-Instruct config.json (flat layout) builds exactly the parameter keys and
    /// shapes transformers builds from it (listed by the fixture script on the meta device).
    func testQwen2VL2BConfigBuildsTransformersParameterLayout() throws {
        let folder = try Qwen2VLFixtures.folder("qwen2vl-2b-structure")
        let c = try Qwen2VLConfiguration(configJSON: folder.appendingPathComponent("config.json"))
        XCTAssertEqual(c.text.mropeSection, [16, 24, 24])
        XCTAssertEqual(c.text.headDim, 128)
        XCTAssertTrue(c.tieWordEmbeddings)
        XCTAssertEqual(c.vision.mlpHiddenSize, 5120)
        let expected = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("parameters.json"))) as? [String: [Int]])
        let model = Qwen2VLModel(configuration: c)    // zero-stride placeholders: no memory
        var ours: [String: [Int]] = [:]
        for (key, p) in model.namedParameters() { ours[key] = p.shape }
        XCTAssertEqual(Set(ours.keys).symmetricDifference(expected.keys).sorted(), [])
        for (key, shape) in expected where ours[key] != nil { XCTAssertEqual(ours[key], shape, key) }
        XCTAssertEqual(model.parameterCount(), expected.values.reduce(0) { $0 + $1.reduce(1, *) })
    }

    func testBadConfigurationsNameTheFileAndProblem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qwen2vl-cfg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = try Data(contentsOf: Qwen2VLFixtures.folder("tiny-b").appendingPathComponent("config.json"))
        var json = try XCTUnwrap(JSONSerialization.jsonObject(with: source) as? [String: Any])
        json["rope_scaling"] = ["type": "mrope", "mrope_section": [2, 2, 2]]   // sums to 6, head_dim/2 is 7
        let url = dir.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        XCTAssertThrowsError(try Qwen2VLConfiguration(configJSON: url)) { error in
            XCTAssertTrue("\(error)".contains(url.path) && "\(error)".contains("mrope_section"), "\(error)")
        }
        json["rope_scaling"] = nil
        json["vision_config"] = nil
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        XCTAssertThrowsError(try Qwen2VLConfiguration(configJSON: url)) { error in
            XCTAssertTrue("\(error)".contains("vision_config"), "\(error)")
        }
    }

    func testProcessorAndVisionTowerMatchTransformers() throws {
        for name in Qwen2VLFixtures.tinyNames {
            let (model, ref, vision) = try load(name)
            let pixels = try XCTUnwrap(ref["pixel_values"])
            XCTAssertEqual(vision.grids, Qwen2VLFixtures.grids(try XCTUnwrap(ref["image_grid_thw"])), name)
            XCTAssertLessThan(Qwen2VLFixtures.maxDifference(vision.pixelValues, pixels), 1e-5, name)
            let out = try withoutGradient { try model.visual(vision) }
            let expected = try XCTUnwrap(ref["vision_output"])
            XCTAssertEqual(out.shape, expected.shape, name)
            let diff = Qwen2VLFixtures.maxDifference(out, expected)
            XCTAssertLessThan(diff, 1e-4, "\(name): max |Δ| vision = \(diff)")
            print("\(name): max |Δ| vision output = \(diff)")
        }
    }

    func testRopeIndexMatchesTransformers() throws {
        for name in Qwen2VLFixtures.tinyNames {
            let ref = try Qwen2VLFixtures.reference(name)
            let ids = try XCTUnwrap(ref["mm_ids"]).toIntArray()
            let grids = Qwen2VLFixtures.grids(try XCTUnwrap(ref["image_grid_thw"]))
            let (positions, delta) = try Qwen2VLRopeIndex.compute(tokens: ids, grids: grids, imageTokenID: 100, mergeSize: 2)
            XCTAssertEqual(positions.flatMap { $0 }, try XCTUnwrap(ref["mm_positions"]).toIntArray(), name)
            XCTAssertEqual(delta, try XCTUnwrap(ref["mm_rope_deltas"]).toIntArray()[0], name)
            XCTAssertLessThan(delta, 0, "images advance positions by less than their token count")
            // A placeholder run that does not match its grid is refused, not mis-positioned.
            XCTAssertThrowsError(try Qwen2VLRopeIndex.compute(tokens: ids.filter { $0 != 100 } + [100], grids: grids,
                                                              imageTokenID: 100, mergeSize: 2))
        }
    }

    func testTextOnlyLogitsMatchTransformers() throws {
        for name in Qwen2VLFixtures.tinyNames {
            let (model, ref, _) = try load(name)
            let ids = try XCTUnwrap(ref["text_ids"]), expected = try XCTUnwrap(ref["text_logits"])
            let logits = withoutGradient { model(ids) }
            XCTAssertEqual(logits.shape, expected.shape, name)
            let diff = Qwen2VLFixtures.maxDifference(logits, expected)
            XCTAssertLessThan(diff, 1e-4, "\(name): max |Δlogit| text = \(diff)")
            print("\(name): max |Δlogit| text-only = \(diff)")
        }
    }

    func testImageTextLogitsMatchTransformers() throws {
        for name in Qwen2VLFixtures.tinyNames {
            let (model, ref, vision) = try load(name)
            let ids = try XCTUnwrap(ref["mm_ids"]).toIntArray(), expected = try XCTUnwrap(ref["mm_logits"])
            let logits = try withoutGradient { try model(tokens: ids, vision: vision) }
            XCTAssertEqual(logits.shape, expected.shape, name)
            let diff = Qwen2VLFixtures.maxDifference(logits, expected)
            XCTAssertLessThan(diff, 1e-4, "\(name): max |Δlogit| image+text = \(diff)")
            print("\(name): max |Δlogit| image+text = \(diff)")
            // The image matters: without its features (pads embedded as text) the logits differ.
            let blind = withoutGradient { model(Tensor(indices: ids, shape: [1, ids.count])) }
            XCTAssertGreaterThan(Qwen2VLFixtures.maxDifference(blind, expected), 1e-2, name)
        }
    }

    func testCachedDecodingEqualsFullSequence() throws {
        for name in Qwen2VLFixtures.tinyNames {
            let (model, ref, vision) = try load(name)
            let ids = try XCTUnwrap(ref["mm_ids"]).toIntArray()
            let full = try withoutGradient { try model(tokens: ids, vision: vision) }
            // Prefill through the last image, then the rest one token at a time at positions shifted by delta.
            let cut = try XCTUnwrap(ids.lastIndex(of: 99)) + 1
            let cache = model.makeCache()
            var pieces = [try model.prefill(Array(ids[..<cut]), images: vision, cache: cache)]
            for t in cut..<ids.count { pieces.append(try model.decode([ids[t]], cache: cache)) }
            XCTAssertEqual(cache.length, ids.count)
            let diff = Qwen2VLFixtures.maxDifference(Tensor.concat(pieces, axis: 1), full)
            XCTAssertLessThan(diff, 1e-4, "\(name): cached vs full = \(diff)")
            print("\(name): max |Δlogit| cached vs full = \(diff)")
            XCTAssertEqual(cache.nextPosition, ids.count + (try XCTUnwrap(ref["mm_rope_deltas"]).toIntArray()[0]))
        }
    }

    func testGreedyContinuationMatchesTransformers() throws {
        for name in Qwen2VLFixtures.tinyNames {
            let (model, ref, vision) = try load(name)
            let ids = try XCTUnwrap(ref["mm_ids"]).toIntArray()
            let expected = try XCTUnwrap(ref["greedy_tokens"]).toIntArray()
            let generator = try TokenGenerator(model: model, prompt: ids, images: vision,
                                               parameters: GenerationParameters(maxTokens: expected.count))
            XCTAssertEqual(try generator.collect(), expected, name)   // throws if the prompt is refused
        }
    }
}
