import LatteNN
import LatteTensor

/// One pre-norm decoder layer of LLaMA and Qwen2: grouped-query attention and a SwiGLU MLP, each
/// after an RMSNorm and added back. Keys are the checkpoints' (`self_attn.q_proj.weight`, …).
public final class DecoderLayer: Module {
    public let self_attn: Attention
    public let mlp: SwiGLU
    public let input_layernorm: RMSNorm
    public let post_attention_layernorm: RMSNorm

    init(_ s: DecoderStack.Shape) {
        self_attn = Attention(hiddenSize: s.hiddenSize, heads: s.headCount, kvHeads: s.kvHeadCount, headDim: s.headDim, qkvBias: s.qkvBias)
        mlp = SwiGLU(hiddenSize: s.hiddenSize, intermediateSize: s.intermediateSize)
        input_layernorm = RMSNorm(s.hiddenSize, eps: s.rmsNormEps)
        post_attention_layernorm = RMSNorm(s.hiddenSize, eps: s.rmsNormEps)
    }

    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), cache: KVCache?, layer: Int) -> Tensor {
        let h = x + self_attn(input_layernorm(x), rotary: rotary, cache: cache, layer: layer)
        return h + mlp(post_attention_layernorm(h))
    }
}

/// The decoder stack under the checkpoint prefix `model.` (transformers' `LlamaModel`, Qwen2-VL's
/// `Qwen2VLTextModel`): token embedding, layers, final norm. The families differ only in q/k/v biases
/// and in the rotary tables their positions give, which the caller passes in.
public final class DecoderStack: Module {
    /// The sizes of a stack (from a family's configuration).
    struct Shape {
        var vocabularySize: Int, hiddenSize: Int, intermediateSize: Int, layerCount: Int
        var headCount: Int, kvHeadCount: Int, headDim: Int, rmsNormEps: Float
        /// Qwen2 has biases on q, k and v; LLaMA none.
        var qkvBias: Bool
    }

    public let embed_tokens: Embedding
    public let layers: [DecoderLayer]
    public let norm: RMSNorm

    init(_ s: Shape) {
        embed_tokens = Embedding(s.vocabularySize, s.hiddenSize)
        layers = (0..<s.layerCount).map { _ in DecoderLayer(s) }
        norm = RMSNorm(s.hiddenSize, eps: s.rmsNormEps)
    }

    /// Embeddings [B, T, hidden] of ids [B, T]. A half-precision table (a bf16 checkpoint) converts only
    /// the rows asked for, not the whole vocabulary.
    func embed(_ ids: Tensor) -> Tensor {
        let table = embed_tokens.weight.tensor
        if table.dtype == .float32 || embed_tokens.quantizedWeight != nil { return embed_tokens(ids) }
        let rows = ids.toIntArray().map { table.sliced(axis: 0, $0..<($0 + 1)).toFloat32() }
        return Tensor.concat(rows, axis: 0).reshaped(ids.shape + [table.shape[1]])
    }

    /// Final hidden states [B, T, hidden] (after the last norm) of input embeddings [B, T, hidden] at
    /// the positions `rotary` was built for; with a cache, keys and values are appended and committed.
    func callAsFunction(embeddings: Tensor, rotary: (cos: Tensor, sin: Tensor), cache: KVCache?) -> Tensor {
        var h = embeddings
        for (i, layer) in layers.enumerated() { h = layer(h, rotary: rotary, cache: cache, layer: i) }
        if let cache { cache.commit(embeddings.shape[1]) }
        return norm(h)
    }
}
