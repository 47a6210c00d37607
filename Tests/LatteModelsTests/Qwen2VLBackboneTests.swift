import Foundation
@testable import LatteModels
import LatteTensor
import XCTest

/// Qwen2-VL as the generator's frozen backbone, and the bf16 / sharded checkpoint path.
final class Qwen2VLBackboneTests: XCTestCase {
    func testPaddedPromptKeysEqualEachPromptsOwn() throws {
        let model = try Qwen2VLModel.load(huggingFaceFolder: Qwen2VLFixtures.folder("tiny-a"))
        let prompts = [[5, 9, 33, 2, 71, 8], [40, 3, 12]]
        let (keys, values, lengths) = model.prefill(prompts: prompts)
        XCTAssertEqual(lengths, [6, 3])
        XCTAssertEqual(keys.count, model.promptLayerCount)
        XCTAssertEqual(keys[0].shape, [2, model.promptKVHeads, 6, model.promptHeadDim])
        for (row, prompt) in prompts.enumerated() {
            let own = try model.prefill(tokens: prompt, vision: nil)
            XCTAssertEqual(own.nextPosition, prompt.count)
            for layer in 0..<keys.count {
                let k = keys[layer].sliced(axis: 0, row..<(row + 1)).sliced(axis: 2, 0..<prompt.count).contiguous()
                let v = values[layer].sliced(axis: 0, row..<(row + 1)).sliced(axis: 2, 0..<prompt.count).contiguous()
                XCTAssertLessThan(Qwen2VLFixtures.maxDifference(k, own.keys[layer].contiguous()), 1e-5)
                XCTAssertLessThan(Qwen2VLFixtures.maxDifference(v, own.values[layer].contiguous()), 1e-5)
            }
        }
    }

    func testImagePromptNextPositionFollowsRopeDelta() throws {
        let model = try Qwen2VLModel.load(huggingFaceFolder: Qwen2VLFixtures.folder("tiny-b"))
        let ref = try Qwen2VLFixtures.reference("tiny-b")
        let ids = try XCTUnwrap(ref["mm_ids"]).toIntArray()
        let vision = try Qwen2VLFixtures.vision("tiny-b", count: 1)
        let out = try model.prefill(tokens: ids, vision: vision)
        XCTAssertEqual(out.keys[0].shape, [1, 2, ids.count, 14])
        XCTAssertEqual(out.nextPosition, ids.count + (try XCTUnwrap(ref["mm_rope_deltas"]).toIntArray()[0]))
    }

    /// A bf16, sharded copy of a tiny checkpoint loads with its weights still bf16 and gives the logits of
    /// the same (bf16-rounded) values held in float32.
    func testBFloat16ShardedCheckpointStaysBFloat16() throws {
        let source = try Qwen2VLFixtures.folder("tiny-a")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qwen2vl-bf16-\(UUID().uuidString)")
        let rounded = dir.appendingPathComponent("f32")
        let half = dir.appendingPathComponent("bf16")
        for d in [rounded, half] {
            try FileManager.default.createDirectory(at: d, withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: d.appendingPathComponent("config.json"))
        }
        defer { try? FileManager.default.removeItem(at: dir) }
        let tensors = try Safetensors.read(contentsOf: source.appendingPathComponent("model.safetensors")).tensors
        let bf16 = tensors.mapValues { $0.to(.bfloat16) }
        try SafetensorsCheckpoint.writeSharded(bf16, to: half, maxShardBytes: 40_000)
        try Safetensors.write(bf16.mapValues { $0.toFloat32() }, to: rounded.appendingPathComponent("model.safetensors"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: half.appendingPathComponent("model.safetensors.index.json").path))

        let a = try Qwen2VLModel.load(huggingFaceFolder: half), b = try Qwen2VLModel.load(huggingFaceFolder: rounded)
        XCTAssertEqual(a.model.layers[0].self_attn.q_proj.weight.tensor.dtype, .bfloat16)
        XCTAssertEqual(a.visual.patch_embed.proj.weight.tensor.dtype, .bfloat16)
        XCTAssertEqual(a.model.embed_tokens.weight.tensor.dtype, .bfloat16)
        let ref = try Qwen2VLFixtures.reference("tiny-a")
        let ids = try XCTUnwrap(ref["mm_ids"]).toIntArray()
        let vision = try Qwen2VLFixtures.vision("tiny-a", count: 2)
        let la = try withoutGradient { try a(tokens: ids, vision: vision) }
        let lb = try withoutGradient { try b(tokens: ids, vision: vision) }
        XCTAssertLessThan(Qwen2VLFixtures.maxDifference(la, lb), 1e-4)
        // The bf16 head converted in blocks of 10 rows (12 blocks for 113 words) gives the same logits.
        let hidden = Tensor.randomNormal([1, 6, a.configuration.text.hiddenSize], seed: 7)
        let whole = withoutGradient { b.logits(hidden) }, blocked = withoutGradient { a.logits(hidden, headBlockRows: 10) }
        XCTAssertLessThan(Qwen2VLFixtures.maxDifference(whole, blocked), 1e-4)
        // Decoding one token at a time reads the bf16 weights directly (a GEMV widening in registers):
        // the same logits as the float32 model's full sequence.
        let cut = try XCTUnwrap(ids.lastIndex(of: 99)) + 1
        let cache = a.makeCache()
        var pieces = [try a.prefill(Array(ids[..<cut]), images: vision, cache: cache)]
        for t in cut..<ids.count { pieces.append(try a.decode([ids[t]], cache: cache)) }
        XCTAssertLessThan(Qwen2VLFixtures.maxDifference(Tensor.concat(pieces, axis: 1), lb), 1e-4)
    }

    func testMissingWeightIsNamed() throws {
        let source = try Qwen2VLFixtures.folder("tiny-a")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qwen2vl-missing-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        var tensors = try Safetensors.read(contentsOf: source.appendingPathComponent("model.safetensors")).tensors
        tensors["visual.merger.mlp.2.bias"] = nil
        try Safetensors.write(tensors, to: dir.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try Qwen2VLModel.load(huggingFaceFolder: dir)) { error in
            XCTAssertTrue("\(error)".contains("visual.merger.mlp.2.bias"), "\(error)")
        }
    }
}
