/// llama.cpp's tensor names for the LLaMA family and the Hugging Face keys our modules carry.
///
/// One explicit table: a GGUF name maps to exactly one checkpoint key and back. Per-layer names use
/// `blk.N.` in GGUF and `model.layers.N.` in HF checkpoints.
public enum LlamaGGUFNames {
    /// Whole-model tensors, GGUF → HF.
    public static let global: [(gguf: String, hf: String)] = [
        ("token_embd.weight", "model.embed_tokens.weight"),
        ("output_norm.weight", "model.norm.weight"),
        ("output.weight", "lm_head.weight"),
    ]

    /// Per-layer tensors, GGUF suffix after `blk.N.` → HF suffix after `model.layers.N.`.
    public static let perLayer: [(gguf: String, hf: String)] = [
        ("attn_q.weight", "self_attn.q_proj.weight"),
        ("attn_k.weight", "self_attn.k_proj.weight"),
        ("attn_v.weight", "self_attn.v_proj.weight"),
        ("attn_output.weight", "self_attn.o_proj.weight"),
        ("attn_q.bias", "self_attn.q_proj.bias"),  // Qwen2 carries Q/K/V biases under the same scheme
        ("attn_k.bias", "self_attn.k_proj.bias"),
        ("attn_v.bias", "self_attn.v_proj.bias"),
        ("ffn_gate.weight", "mlp.gate_proj.weight"),
        ("ffn_up.weight", "mlp.up_proj.weight"),
        ("ffn_down.weight", "mlp.down_proj.weight"),
        ("attn_norm.weight", "input_layernorm.weight"),
        ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ]

    private static let globalToHF = Dictionary(uniqueKeysWithValues: global.map { ($0.gguf, $0.hf) })
    private static let globalToGGUF = Dictionary(uniqueKeysWithValues: global.map { ($0.hf, $0.gguf) })
    private static let layerToHF = Dictionary(uniqueKeysWithValues: perLayer.map { ($0.gguf, $0.hf) })
    private static let layerToGGUF = Dictionary(uniqueKeysWithValues: perLayer.map { ($0.hf, $0.gguf) })

    /// `blk.3.attn_q.weight` → `model.layers.3.self_attn.q_proj.weight`; nil for names outside the table.
    public static func hfName(forGGUF name: String) -> String? {
        if let g = globalToHF[name] { return g }
        guard let (layer, suffix) = split(name, prefix: "blk."), let hf = layerToHF[suffix] else { return nil }
        return "model.layers.\(layer).\(hf)"
    }

    /// The inverse of `hfName(forGGUF:)`.
    public static func ggufName(forHF name: String) -> String? {
        if let g = globalToGGUF[name] { return g }
        guard let (layer, suffix) = split(name, prefix: "model.layers."), let g = layerToGGUF[suffix] else { return nil }
        return "blk.\(layer).\(g)"
    }

    /// Whether a GGUF tensor's rows were permuted by llama.cpp's converter (see `unpermuteQK`), and with
    /// which head count: Q uses `attention.head_count`, K uses `attention.head_count_kv`.
    public enum PermutedRows: Equatable, Sendable { case none, query, key }

    public static func permutation(forGGUF name: String) -> PermutedRows {
        guard let (_, suffix) = split(name, prefix: "blk.") else { return .none }
        if suffix.hasPrefix("attn_q.") { return .query }
        if suffix.hasPrefix("attn_k.") { return .key }
        return .none
    }

    private static func split(_ name: String, prefix: String) -> (Int, String)? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        guard let dot = rest.firstIndex(of: "."), let layer = Int(rest[..<dot]), layer >= 0 else { return nil }
        return (layer, String(rest[rest.index(after: dot)...]))
    }
}

/// Why: llama.cpp's converter reorders the rows of LLaMA's Q and K projections so that its RoPE, which
/// rotates adjacent pairs (x[2i], x[2i+1]), matches HF's, which rotates halves (x[i], x[i + d/2]).
/// Within each head of `d = rows / heads` rows, GGUF row `2i + j` holds HF row `j·d/2 + i`
/// (j ∈ {0, 1}, i < d/2). transformers undoes this when it loads a GGUF; so do these functions, after
/// which the weights pair with the half-split RoPE of HF checkpoints.
///
/// Rows are moved whole, so this works on raw quantised rows too (pass `rowBytes` instead of elements).
public enum QKPermutation {
    /// The HF row stored at GGUF row `ggufRow`.
    @inlinable
    public static func hfRow(forGGUFRow ggufRow: Int, rows: Int, heads: Int) -> Int {
        let d = rows / heads
        let head = ggufRow / d, r = ggufRow % d
        return head * d + (r % 2) * (d / 2) + r / 2
    }

    /// Copies `rows` rows of `rowStride` elements from GGUF order in `source` to HF order in `destination`.
    public static func unpermute<T>(_ source: UnsafeBufferPointer<T>, rows: Int, heads: Int,
                                    into destination: UnsafeMutableBufferPointer<T>) {
        precondition(heads > 0 && rows % heads == 0 && (rows / heads) % 2 == 0,
                     "unpermuteQK: \(rows) rows do not split into \(heads) heads of even size")
        precondition(source.count == destination.count && source.count % max(rows, 1) == 0,
                     "unpermuteQK: buffers of \(source.count) and \(destination.count) elements for \(rows) rows")
        guard rows > 0, let src = source.baseAddress, let dst = destination.baseAddress else { return }
        let stride = source.count / rows
        for g in 0..<rows {
            (dst + hfRow(forGGUFRow: g, rows: rows, heads: heads) * stride).update(from: src + g * stride, count: stride)
        }
    }
}

/// Undoes llama.cpp's Q/K row permutation on a row-major `[rows, cols]` array (see `QKPermutation`):
/// `heads` is `attention.head_count` for Q and `attention.head_count_kv` for K.
public func unpermuteQK<T>(_ values: [T], rows: Int, heads: Int) -> [T] {
    var out = values
    values.withUnsafeBufferPointer { src in
        out.withUnsafeMutableBufferPointer { dst in QKPermutation.unpermute(src, rows: rows, heads: heads, into: dst) }
    }
    return out
}
