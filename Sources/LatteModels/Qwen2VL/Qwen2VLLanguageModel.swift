import Foundation
import LatteNN
import LatteTensor

// MARK: - Language

/// Position ids of a batch for M-RoPE: per row, three streams (temporal, height, width) of T ids.
/// Text positions have the three equal; image tokens differ (see `Qwen2VLRopeIndex`).
public struct Qwen2VLPositions: Sendable, Equatable {
    public var rows: [[[Int]]]

    public init(rows: [[[Int]]]) { self.rows = rows }

    /// Plain positions start..<start+count in all three streams for `batch` rows.
    public static func text(start: Int, count: Int, batch: Int = 1) -> Qwen2VLPositions {
        let p = Array(start..<(start + count))
        return Qwen2VLPositions(rows: [[[Int]]](repeating: [p, p, p], count: batch))
    }

    public var batch: Int { rows.count }
    public var length: Int { rows.first?.first?.count ?? 0 }

    /// cos/sin tables: [T, D] when every row has the same positions, else [B, 1, T, D].
    func rotary(sections: [Int], headDim: Int, theta: Float) -> (cos: Tensor, sin: Tensor) {
        let first = Rotary.multimodalTables(positions: rows[0], sections: sections, headDim: headDim, theta: theta)
        if rows.allSatisfy({ $0 == rows[0] }) { return first }
        let tables = rows.map { Rotary.multimodalTables(positions: $0, sections: sections, headDim: headDim, theta: theta) }
        let t = length
        return (Tensor.concat(tables.map { $0.cos.reshaped([1, 1, t, headDim]) }, axis: 0),
                Tensor.concat(tables.map { $0.sin.reshaped([1, 1, t, headDim]) }, axis: 0))
    }
}

/// Qwen2 grouped-query attention: biases on q, k and v (not o), M-RoPE on q and k, a KV cache.
public final class Qwen2VLAttention: Module {
    public let q_proj: Linear
    public let k_proj: Linear
    public let v_proj: Linear
    public let o_proj: Linear
    let heads: Int, kvHeads: Int, headDim: Int

    init(_ c: Qwen2VLTextConfiguration) {
        q_proj = Linear(c.hiddenSize, c.headCount * c.headDim, bias: true)
        k_proj = Linear(c.hiddenSize, c.kvHeadCount * c.headDim, bias: true)
        v_proj = Linear(c.hiddenSize, c.kvHeadCount * c.headDim, bias: true)
        o_proj = Linear(c.headCount * c.headDim, c.hiddenSize, bias: false)
        (heads, kvHeads, headDim) = (c.headCount, c.kvHeadCount, c.headDim)
    }

    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), cache: KVCache?, layer: Int) -> Tensor {
        let b = x.shape[0], t = x.shape[1]
        func split(_ y: Tensor, _ h: Int) -> Tensor { y.reshaped([b, t, h, headDim]).permuted([0, 2, 1, 3]) }
        let project: (Linear, Tensor) -> Tensor = BFloat16Projection.apply
        let q = split(project(q_proj, x), heads).applyingRotary(cos: rotary.cos, sin: rotary.sin)
        var k = split(project(k_proj, x), kvHeads).applyingRotary(cos: rotary.cos, sin: rotary.sin)
        var v = split(project(v_proj, x), kvHeads)
        if let cache { (k, v) = cache.append(layer: layer, keys: k, values: v) }
        let o = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: .causal).output
        return project(o_proj, o.permuted([0, 2, 1, 3]).reshaped([b, t, heads * headDim]))
    }
}

public final class Qwen2VLDecoderLayer: Module {
    public let self_attn: Qwen2VLAttention
    public let mlp: SwiGLU
    public let input_layernorm: RMSNorm
    public let post_attention_layernorm: RMSNorm

    init(_ c: Qwen2VLTextConfiguration) {
        self_attn = Qwen2VLAttention(c)
        mlp = SwiGLU(hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize)
        input_layernorm = RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
        post_attention_layernorm = RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
    }

    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), cache: KVCache?, layer: Int) -> Tensor {
        let h = x + self_attn(input_layernorm(x), rotary: rotary, cache: cache, layer: layer)
        // SwiGLU's own projections, through the bf16-aware path.
        let n = post_attention_layernorm(h), project: (Linear, Tensor) -> Tensor = BFloat16Projection.apply
        return h + project(mlp.down_proj, project(mlp.gate_proj, n).silu() * project(mlp.up_proj, n))
    }
}

/// The Qwen2 decoder stack under the checkpoint prefix `model.` (transformers' `Qwen2VLTextModel`).
public final class Qwen2VLTextBackbone: Module {
    public let embed_tokens: Embedding
    public let layers: [Qwen2VLDecoderLayer]
    public let norm: RMSNorm
    let configuration: Qwen2VLTextConfiguration

    init(_ c: Qwen2VLTextConfiguration) {
        configuration = c
        embed_tokens = Embedding(c.vocabularySize, c.hiddenSize)
        layers = (0..<c.layerCount).map { _ in Qwen2VLDecoderLayer(c) }
        norm = RMSNorm(c.hiddenSize, eps: c.rmsNormEps)
    }

    /// Embeddings [B, T, hidden] of ids [B, T]. A half-precision table converts only the rows asked
    /// for, not the whole vocabulary.
    func embed(_ ids: Tensor) -> Tensor {
        let table = embed_tokens.weight.tensor
        if table.dtype == .float32 { return Tensor.embedding(ids, table: table) }
        let rows = ids.toIntArray().map { table.sliced(axis: 0, $0..<($0 + 1)).toFloat32() }
        return Tensor.concat(rows, axis: 0).reshaped(ids.shape + [configuration.hiddenSize])
    }

    /// Final hidden states [B, T, hidden] (after the last norm) of input embeddings [B, T, hidden] at
    /// `positions`; with a cache, keys and values are appended and committed.
    func callAsFunction(embeddings: Tensor, positions: Qwen2VLPositions, cache: KVCache?) -> Tensor {
        let c = configuration
        precondition(positions.batch == embeddings.shape[0] && positions.length == embeddings.shape[1],
                     "positions for \(positions.batch)×\(positions.length) tokens, embeddings \(embeddings.shape)")
        let rotary = positions.rotary(sections: c.mropeSection, headDim: c.headDim, theta: c.ropeTheta)
        var h = embeddings
        for (i, layer) in layers.enumerated() { h = layer(h, rotary: rotary, cache: cache, layer: i) }
        if let cache { cache.commit(embeddings.shape[1]) }
        return norm(h)
    }
}
