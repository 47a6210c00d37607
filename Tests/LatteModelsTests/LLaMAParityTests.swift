import Foundation
import LatteModels
import LatteTensor
import XCTest

/// Tiny random LlamaForCausalLM checkpoints against transformers' own logits and greedy continuations.
final class LLaMAParityTests: XCTestCase {
    func testFullLogitsMatchTransformers() throws {
        for name in LLaMAFixtures.tinyNames {
            let model = try LLaMAModel.load(from: LLaMAFixtures.folder(name))
            let ref = try LLaMAFixtures.reference(name)
            let ids = try XCTUnwrap(ref["input_ids"]), expected = try XCTUnwrap(ref["logits"])
            let logits = withoutGradient { model(ids) }
            XCTAssertEqual(logits.shape, expected.shape, name)
            let diff = LLaMAFixtures.maxDifference(logits, expected)
            XCTAssertLessThan(diff, 1e-4, "\(name): max |Δlogit| = \(diff)")
        }
    }

    func testConfigurationsReadFromConfigJSON() throws {
        let untied = try LLaMAModel.load(from: LLaMAFixtures.folder("tiny-gqa-untied")).configuration
        XCTAssertEqual(untied.kvHeadCount, 2)
        XCTAssertEqual(untied.ropeTheta, 500)
        XCTAssertFalse(untied.tieWordEmbeddings)
        let llama3 = try LLaMAModel.load(from: LLaMAFixtures.folder("tiny-llama3-rope"))
        XCTAssertEqual(llama3.configuration.ropeScaling?.factor, 4)
        XCTAssertTrue(llama3.configuration.tieWordEmbeddings)
        XCTAssertNil(llama3.lm_head)
        // Tied: the output projection is the embedding, so the keys hold no lm_head.
        XCTAssertFalse(llama3.namedParameters().contains { $0.key == "lm_head.weight" })
        XCTAssertTrue(llama3.namedParameters().contains { $0.key == "model.layers.2.self_attn.k_proj.weight" })
    }

    func testGreedyContinuationsMatchTransformers() throws {
        for name in LLaMAFixtures.tinyNames {
            let model = try LLaMAModel.load(from: LLaMAFixtures.folder(name))
            let ref = try LLaMAFixtures.reference(name)
            let prompt = try XCTUnwrap(ref["greedy_prompt"]).toIntArray()
            let expected = try XCTUnwrap(ref["greedy_tokens"]).toIntArray()
            let generator = try TokenGenerator(model: model, prompt: prompt,
                                               parameters: GenerationParameters(maxTokens: expected.count))
            XCTAssertEqual(try generator.collect(), expected, name)
        }
    }

    func testCachedDecodingEqualsFullSequence() throws {
        for name in LLaMAFixtures.tinyNames {
            let model = try LLaMAModel.load(from: LLaMAFixtures.folder(name))
            let ref = try LLaMAFixtures.reference(name)
            let ids = try XCTUnwrap(ref["input_ids"])
            let full = withoutGradient { model(ids) }
            // Prefill 4 positions, then one at a time, with a chunk of 3 so the cache grows mid-sequence.
            let cache = model.makeCache(batch: ids.shape[0], chunk: 3)
            var pieces = [withoutGradient { model(ids.sliced(axis: 1, 0..<4), cache: cache) }]
            for t in 4..<ids.shape[1] {
                pieces.append(withoutGradient { model(ids.sliced(axis: 1, t..<(t + 1)), cache: cache) })
            }
            XCTAssertEqual(cache.length, ids.shape[1])
            XCTAssertGreaterThanOrEqual(cache.capacity, cache.length)
            let diff = LLaMAFixtures.maxDifference(Tensor.concat(pieces, axis: 1), full)
            XCTAssertLessThan(diff, 1e-4, "\(name): cached vs full max |Δ| = \(diff)")
        }
    }

    func testPrefillKeysAreTheCacheOfTheFullPass() throws {
        let model = try LLaMAModel.load(from: LLaMAFixtures.folder("tiny-gqa-untied"))
        let ids = try XCTUnwrap(LLaMAFixtures.reference("tiny-gqa-untied")["input_ids"])
        let (keys, values) = model.prefill(tokens: ids)
        XCTAssertEqual(keys.count, 3)
        XCTAssertEqual(keys[0].shape, [2, 2, 11, 12])
        XCTAssertEqual(values[2].shape, [2, 2, 11, 12])
        XCTAssertFalse(keys[1].requiresGradient)
        // Decoding one more token against the prefilled keys must equal the full pass's last position.
        let cache = model.makeCache(batch: 2)
        _ = withoutGradient { model(ids.sliced(axis: 1, 0..<10), cache: cache) }
        XCTAssertEqual(LLaMAFixtures.maxDifference(cache.keys[1], keys[1].sliced(axis: 2, 0..<10)), 0)
        XCTAssertEqual(LLaMAFixtures.maxDifference(cache.values[2], values[2].sliced(axis: 2, 0..<10)), 0)
    }

    func testBadCheckpointsGiveErrorsNamingKeyAndFile() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("llama-bad-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let source = try LLaMAFixtures.folder("tiny-gqa-untied")
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: tmp.appendingPathComponent("config.json"))
        // A checkpoint missing one tensor and with one of the wrong shape.
        var tensors = try Safetensors.read(contentsOf: source.appendingPathComponent("model.safetensors")).tensors
        tensors["model.layers.1.mlp.up_proj.weight"] = nil
        tensors["model.norm.weight"] = Tensor.zeros([71])
        try Safetensors.write(tensors, to: tmp.appendingPathComponent("model.safetensors"))
        XCTAssertThrowsError(try LLaMAModel.load(from: tmp)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("model.layers.1.mlp.up_proj.weight"), text)
            XCTAssertTrue(text.contains("model.norm.weight") && text.contains("[72]") && text.contains("[71]"), text)
            XCTAssertTrue(text.contains(tmp.path), text)
        }
        // A config the model cannot honour.
        try Data(#"{"hidden_size": 72, "intermediate_size": 100, "num_hidden_layers": 1, "num_attention_heads": 5, "num_key_value_heads": 2, "vocab_size": 9}"#.utf8)
            .write(to: tmp.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try LLaMAModel.load(from: tmp)) { XCTAssertTrue("\($0)".contains("not a multiple of 2 KV heads"), "\($0)") }
        XCTAssertThrowsError(try LLaMAModel.load(from: tmp.appendingPathComponent("nothing-here"))) {
            XCTAssertTrue("\($0)".contains("no such file"), "\($0)")
        }
    }

    func testShardedBFloat16FolderLoads() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("llama-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        let source = try LLaMAFixtures.folder("tiny-mha-tied")
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: tmp.appendingPathComponent("config.json"))
        let tensors = try Safetensors.read(contentsOf: source.appendingPathComponent("model.safetensors")).tensors
        // Two bf16 shards split by key, as large checkpoints are stored.
        var shards: [[String: Tensor]] = [[:], [:]]
        var map: [String: String] = [:]
        for (i, key) in tensors.keys.sorted().enumerated() {
            shards[i % 2][key] = tensors[key]!.to(.bfloat16)
            map[key] = "model-0000\(i % 2 + 1)-of-00002.safetensors"
        }
        for (i, shard) in shards.enumerated() {
            try Safetensors.write(shard, to: tmp.appendingPathComponent("model-0000\(i + 1)-of-00002.safetensors"))
        }
        try JSONSerialization.data(withJSONObject: ["metadata": [:], "weight_map": map])
            .write(to: tmp.appendingPathComponent("model.safetensors.index.json"))
        let bf16 = try LLaMAModel.load(from: tmp)
        XCTAssertEqual(bf16.model.layers[0].mlp.up_proj.weight.value.dtype, .bfloat16)
        let ref = try LLaMAFixtures.reference("tiny-mha-tied")
        let ids = try XCTUnwrap(ref["input_ids"]), expected = try XCTUnwrap(ref["logits"])
        // bf16 weights keep ~3 significant digits: close to the fp32 reference, not equal.
        let diff = LLaMAFixtures.maxDifference(withoutGradient { bf16(ids) }, expected)
        let scale = expected.toArray().reduce(0) { max($0, abs($1)) }
        XCTAssertLessThan(diff, 0.05 * scale, "bf16 max |Δ| = \(diff) against logits up to \(scale)")
        XCTAssertGreaterThan(diff, 0, "bf16 rounding should show")
    }

    func testPrefillOfPromptsWithDifferentLengths() throws {
        let model = try LLaMAModel.load(from: LLaMAFixtures.folder("tiny-llama3-rope"))
        let prompts = [[5, 9, 13, 2], [40, 41, 42, 43, 44, 45, 46], [7]]
        let batched = model.prefill(prompts: prompts)
        XCTAssertEqual(batched.lengths, [4, 7, 1])
        XCTAssertEqual(batched.keys[0].shape, [3, 3, 7, 12])
        for (row, prompt) in prompts.enumerated() {
            let single = model.prefill(tokens: LLaMAFixtures.ids(prompt))
            for layer in 0..<3 {
                let real = 0..<prompt.count
                let k = batched.keys[layer].sliced(axis: 0, row..<(row + 1)).sliced(axis: 2, real)
                let v = batched.values[layer].sliced(axis: 0, row..<(row + 1)).sliced(axis: 2, real)
                XCTAssertLessThan(LLaMAFixtures.maxDifference(k, single.keys[layer]), 1e-5, "row \(row) layer \(layer)")
                XCTAssertLessThan(LLaMAFixtures.maxDifference(v, single.values[layer]), 1e-5, "row \(row) layer \(layer)")
            }
        }
    }
}
