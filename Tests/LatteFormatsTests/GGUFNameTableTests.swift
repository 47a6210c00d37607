import XCTest
@testable import LatteFormats

final class GGUFNameTableTests: XCTestCase {
    func testLlamaNamesMapBothWays() {
        let pairs = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("output.weight", "lm_head.weight"),
            ("blk.0.attn_q.weight", "model.layers.0.self_attn.q_proj.weight"),
            ("blk.12.attn_k.weight", "model.layers.12.self_attn.k_proj.weight"),
            ("blk.29.attn_v.weight", "model.layers.29.self_attn.v_proj.weight"),
            ("blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"),
            ("blk.3.ffn_gate.weight", "model.layers.3.mlp.gate_proj.weight"),
            ("blk.3.ffn_up.weight", "model.layers.3.mlp.up_proj.weight"),
            ("blk.3.ffn_down.weight", "model.layers.3.mlp.down_proj.weight"),
            ("blk.7.attn_norm.weight", "model.layers.7.input_layernorm.weight"),
            ("blk.7.ffn_norm.weight", "model.layers.7.post_attention_layernorm.weight"),
        ]
        for (g, h) in pairs {
            XCTAssertEqual(LlamaGGUFNames.hfName(forGGUF: g), h)
            XCTAssertEqual(LlamaGGUFNames.ggufName(forHF: h), g)
        }
        for bad in ["blk.x.attn_q.weight", "blk.1.attn_qq.weight", "rope_freqs.weight", "blk.-1.attn_q.weight", "blk."] {
            XCTAssertNil(LlamaGGUFNames.hfName(forGGUF: bad), bad)
        }
        XCTAssertEqual(LlamaGGUFNames.permutation(forGGUF: "blk.4.attn_q.weight"), .query)
        XCTAssertEqual(LlamaGGUFNames.permutation(forGGUF: "blk.4.attn_k.weight"), .key)
        XCTAssertEqual(LlamaGGUFNames.permutation(forGGUF: "blk.4.attn_v.weight"), .none)
        XCTAssertEqual(LlamaGGUFNames.permutation(forGGUF: "token_embd.weight"), .none)
    }

    /// Rows permuted by numpy with llama.cpp's converter formula come back in HF order.
    func testUnpermuteQKUndoesTheConverterPermutation() throws {
        let doc = try GGUFFixtures.json("qk_permutation.json")
        let cases = try XCTUnwrap(doc["cases"] as? [[String: Any]])
        XCTAssertEqual(cases.count, 3)
        for c in cases {
            let rows = c["rows"] as! Int, heads = c["heads"] as! Int
            let gguf = (c["gguf"] as! [Double]).map(Float.init), hf = (c["hf"] as! [Double]).map(Float.init)
            XCTAssertNotEqual(gguf, hf)
            XCTAssertEqual(unpermuteQK(gguf, rows: rows, heads: heads), hf, "heads \(heads) rows \(rows)")
            // Whole rows move, so the same works on raw (e.g. quantised) row bytes.
            let cols = c["cols"] as! Int
            let bytes: [UInt8] = gguf.map { UInt8(Int($0) % 251) }
            let moved = unpermuteQK(bytes, rows: rows, heads: heads)
            XCTAssertEqual(moved, hf.map { UInt8(Int($0) % 251) })
            XCTAssertEqual(moved.count, rows * cols)
        }
    }
}
