import Foundation
import LatteFormats
import LatteModels
import LatteTensor
import XCTest

/// The backbone protocol the generator reads: prompt keys (after RoPE) and values equal transformers'
/// KV cache (scripts/make_llama_kv_fixtures.py), with the geometry each layer reports.
final class LLaMABackboneTests: XCTestCase {
    /// Through the protocol only, as the generator sees it.
    private func encode(_ backbone: some PromptBackbone, _ prompts: [[Int]]) -> (keys: [Tensor], values: [Tensor], lengths: [Int]) {
        backbone.prefill(prompts: prompts)
    }

    func testPromptKeysAndValuesMatchTransformersCache() throws {
        for name in ["tiny-gqa-untied", "tiny-llama3-rope"] {
            let model = try LLaMAModel.load(from: LLaMAFixtures.folder(name))
            let reference = try Safetensors.read(contentsOf: LLaMAFixtures.folder(name)
                .appendingPathComponent("kv-reference.safetensors")).tensors
            let ids = try XCTUnwrap(reference["input_ids"])
            let flat = ids.toArray().map { Int($0) }
            let t = ids.dim(1)
            let prompts = (0..<ids.dim(0)).map { Array(flat[($0 * t)..<(($0 + 1) * t)]) }
            let prompt = encode(model, prompts)
            XCTAssertEqual(prompt.keys.count, model.promptLayerCount, name)
            XCTAssertEqual(prompt.lengths, [t, t], name)
            for layer in 0..<model.promptLayerCount {
                let (kvHeads, headDim) = (model.promptKVHeads, model.promptHeadDim)
                let k = try XCTUnwrap(reference["keys.\(layer)"]), v = try XCTUnwrap(reference["values.\(layer)"])
                XCTAssertEqual(prompt.keys[layer].shape, [2, kvHeads, t, headDim], "\(name) layer \(layer)")
                XCTAssertEqual(k.shape, prompt.keys[layer].shape, "\(name) layer \(layer)")
                XCTAssertFalse(prompt.keys[layer].requiresGradient)
                XCTAssertLessThan(LLaMAFixtures.maxDifference(prompt.keys[layer], k), 1e-4, "\(name) keys \(layer)")
                XCTAssertLessThan(LLaMAFixtures.maxDifference(prompt.values[layer], v), 1e-4, "\(name) values \(layer)")
            }
        }
    }

    func testShorterPromptsReportTheirOwnLengths() throws {
        let model = try LLaMAModel.load(from: LLaMAFixtures.folder("tiny-gqa-untied"))
        let prompt = encode(model, [[3, 4, 5], [6, 7, 8, 9, 10, 11]])
        XCTAssertEqual(prompt.lengths, [3, 6])
        XCTAssertEqual(prompt.keys[0].shape, [2, 2, 6, 12])
    }
}
