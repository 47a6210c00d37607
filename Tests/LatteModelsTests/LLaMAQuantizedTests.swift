import Foundation
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers
import XCTest

/// SmolLM2 loaded with its Q4_1 / Q8_0 weights kept quantised (`keepQuantized: true`) against the same
/// file dequantised to float32 (skipped when the asset is not fetched).
final class LLaMAQuantizedTests: XCTestCase {
    // One load of each mode shared by the tests of this class.
    nonisolated(unsafe) static var loaded: (quantized: LLaMAModel, float: LLaMAModel, tokenizer: Tokenizer)?

    func models() throws -> (quantized: LLaMAModel, float: LLaMAModel, tokenizer: Tokenizer) {
        if let l = Self.loaded { return l }
        let url = try LLaMAFixtures.smolLM2()
        let l = (try LLaMAModel.load(from: url, keepQuantized: true), try LLaMAModel.load(from: url), try Tokenizer.load(contentsOf: url))
        Self.loaded = l
        return l
    }

    /// The prompts of the transformers reference fixture (plain and chat-templated).
    func prompts() throws -> [(name: String, ids: [Int])] {
        struct Reference: Decodable { var name: String; var ids: [Int] }
        let url = try LLaMAFixtures.folder("smollm2-reference.json")
        return try JSONDecoder().decode([Reference].self, from: Data(contentsOf: url)).map { ($0.name, $0.ids) }
    }

    func testMatricesStayQuantisedAndDequantiseToTheFloatModel() throws {
        let (q, f, _) = try models()
        let layer = q.model.layers[0], floatLayer = f.model.layers[0]
        XCTAssertEqual(q.model.embed_tokens.quantizedWeight?.format, .q8_0)
        for (name, linear, floatLinear) in [("q_proj", layer.self_attn.q_proj, floatLayer.self_attn.q_proj),
                                            ("k_proj", layer.self_attn.k_proj, floatLayer.self_attn.k_proj),
                                            ("v_proj", layer.self_attn.v_proj, floatLayer.self_attn.v_proj),
                                            ("down_proj", layer.mlp.down_proj, floatLayer.mlp.down_proj)] {
            let weight = try XCTUnwrap(linear.quantizedWeight, name)
            XCTAssertEqual(weight.format, .q4_1, name)
            XCTAssertFalse(linear.weight.isTrainable, name)
            // Q and K rows were reordered as raw blocks; the float loader un-permuted floats.
            XCTAssertLessThanOrEqual(LLaMAFixtures.maxDifference(weight.dequantized(), floatLinear.weight.value), 1e-6, name)
        }
        let embed = try XCTUnwrap(q.model.embed_tokens.quantizedWeight)
        XCTAssertLessThanOrEqual(LLaMAFixtures.maxDifference(embed.dequantized(), f.model.embed_tokens.weight.value), 1e-6)
        // Only the norms remain float32 parameters, and only they are trainable.
        XCTAssertEqual(q.parameterCount(trainableOnly: true), 576 * (2 * 30 + 1))
    }

    func testFullSequenceLogitsMatchFloatModel() throws {
        // Many positions at once go through dequantised panels and the float32 GEMM: the same products
        // as the float model up to summation order, so every position's logits agree to float rounding
        // (logits reach about 30).
        let (q, f, _) = try models()
        for (name, ids) in try prompts() {
            let lq = withoutGradient { q(LLaMAFixtures.ids(ids)) }, lf = withoutGradient { f(LLaMAFixtures.ids(ids)) }
            XCTAssertLessThanOrEqual(LLaMAFixtures.maxDifference(lq, lf), 2e-3, name)
        }
    }

    func testTopOneAgreesWithFloatModelWhenDecoding() throws {
        let (q, f, _) = try models()
        for (name, ids) in try prompts() {
            let cacheQ = q.makeCache(), cacheF = f.makeCache()
            var inputs = ids
            // The prompt's last position and three decoded tokens each go through the fused GEMV, which
            // rounds activations to int8 per 32 values (as llama.cpp's Q8_1 dot products). Observed on
            // these prompts: RMS logit difference ≤ 10 % of the logits' RMS (≤ 1.6 % at the prompt's last
            // position, where only the output projection uses it), largest ≤ 2.1, top-1 unchanged.
            for step in 0..<4 {
                let lq = withoutGradient { q.lastLogits(LLaMAFixtures.ids(inputs), cache: cacheQ) }
                let lf = withoutGradient { f.lastLogits(LLaMAFixtures.ids(inputs), cache: cacheF) }
                let next = argmax(lf.toArray())
                XCTAssertEqual(argmax(lq.toArray()), next, "\(name): top-1 at step \(step)")
                let a = lq.toArray(), b = lf.toArray()
                let rms = (zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +) / Float(a.count)).squareRoot()
                let scale = (b.map { $0 * $0 }.reduce(0, +) / Float(b.count)).squareRoot()
                let difference = LLaMAFixtures.maxDifference(lq, lf)
                XCTAssertLessThanOrEqual(rms, 0.15 * scale, "\(name): logits differ by \(rms) RMS (of \(scale)) at step \(step)")
                XCTAssertLessThanOrEqual(difference, 3, "\(name): logits differ by up to \(difference) at step \(step)")
                inputs = [next]
            }
        }
    }

    func testGreedyContinuationsFollowFloatModel() throws {
        // Observed: the first 16 greedy tokens equal the float model's for two prompts, 12 for the third.
        let (q, f, _) = try models()
        for (name, ids) in try prompts() {
            let gq = try TokenGenerator(model: q, prompt: ids, parameters: .init(maxTokens: 16)).collect()
            let gf = try TokenGenerator(model: f, prompt: ids, parameters: .init(maxTokens: 16)).collect()
            let same = zip(gq, gf).prefix { $0 == $1 }.count
            XCTAssertGreaterThanOrEqual(same, 8, "\(name): \(gq) vs \(gf)")
        }
    }

    func testGreedyContinuationOfCapitalOfFranceContainsParis() throws {
        let (q, _, tokenizer) = try models()
        let prompt = tokenizer.encode("The capital of France is", addSpecialTokens: false)
        let greedy = try TokenGenerator(model: q, prompt: prompt, parameters: .init(maxTokens: 16)).collect()
        XCTAssertEqual(greedy.count, 16)
        XCTAssertTrue(tokenizer.decode(greedy).contains(" Paris"), tokenizer.decode(greedy))
    }

    func testWrongByteCountIsRefused() throws {
        let bytes = [UInt8](repeating: 0, count: 20 * 3)
        try bytes.withUnsafeBytes { raw in
            XCTAssertThrowsError(try QuantizedWeight(format: .q4_1, rows: 2, columns: 64, bytes: raw, owner: nil)) {
                XCTAssertTrue("\($0)".contains("takes 80 bytes, got 60"), "\($0)")
            }
            XCTAssertThrowsError(try QuantizedWeight(format: .q8_0, rows: 1, columns: 48, bytes: raw, owner: nil)) {
                XCTAssertTrue("\($0)".contains("multiple of 32"), "\($0)")
            }
        }
    }

    private func argmax(_ v: [Float]) -> Int { v.indices.max { v[$0] < v[$1] }! }
}
