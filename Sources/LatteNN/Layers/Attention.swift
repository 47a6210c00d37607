import LatteTensor

/// Grouped-query self-attention, the one block of both decoders here (LLaMA and Qwen2):
/// q_proj, k_proj, v_proj (biases optional, Qwen2 has them), rotary position embedding on q and k,
/// scaled dot-product attention, o_proj (no bias).
///
/// Positions enter only through the cos/sin tables the caller passes, so 1-D RoPE (with or without
/// Llama-3 scaling) and Qwen2-VL's M-RoPE share this block; both use the half-split layout of HF
/// checkpoints (a GGUF's llama.cpp-permuted Q and K rows are un-permuted when loaded).
public final class Attention: Module {
    public let q_proj: Linear
    public let k_proj: Linear
    public let v_proj: Linear
    public let o_proj: Linear
    public let heads: Int
    public let kvHeads: Int
    public let headDim: Int

    public init(hiddenSize: Int, heads: Int, kvHeads: Int? = nil, headDim: Int? = nil,
                qkvBias: Bool = false, outputBias: Bool = false, generator: inout RandomGenerator) {
        let kvHeads = kvHeads ?? heads, headDim = headDim ?? hiddenSize / heads
        precondition(heads % kvHeads == 0, "Attention: \(heads) query heads are not a multiple of \(kvHeads) KV heads")
        q_proj = Linear(hiddenSize, heads * headDim, bias: qkvBias, generator: &generator)
        k_proj = Linear(hiddenSize, kvHeads * headDim, bias: qkvBias, generator: &generator)
        v_proj = Linear(hiddenSize, kvHeads * headDim, bias: qkvBias, generator: &generator)
        o_proj = Linear(heads * headDim, hiddenSize, bias: outputBias, generator: &generator)
        (self.heads, self.kvHeads, self.headDim) = (heads, kvHeads, headDim)
    }

    /// Placeholders for a checkpoint.
    public init(hiddenSize: Int, heads: Int, kvHeads: Int? = nil, headDim: Int? = nil, qkvBias: Bool = false, outputBias: Bool = false) {
        let kvHeads = kvHeads ?? heads, headDim = headDim ?? hiddenSize / heads
        precondition(heads % kvHeads == 0, "Attention: \(heads) query heads are not a multiple of \(kvHeads) KV heads")
        q_proj = Linear(hiddenSize, heads * headDim, bias: qkvBias)
        k_proj = Linear(hiddenSize, kvHeads * headDim, bias: qkvBias)
        v_proj = Linear(hiddenSize, kvHeads * headDim, bias: qkvBias)
        o_proj = Linear(heads * headDim, hiddenSize, bias: outputBias)
        (self.heads, self.kvHeads, self.headDim) = (heads, kvHeads, headDim)
    }

    /// x [B, T, hidden] → [B, T, hidden].
    ///
    /// - rotary: cos and sin tables broadcasting to [B, H, T, headDim] (typically [T, headDim], from
    ///   `Rotary.tables` or `Rotary.multimodalTables`); nil for no position embedding.
    /// - scoreBias: added to the pre-softmax scores (broadcasts to [B, heads, T, T]).
    /// - returnScores: also return the pre-softmax scores [B, heads, T, T] (before the mask).
    public func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor)? = nil, mask: AttentionMask = .causal,
                               scoreBias: Tensor? = nil, returnScores: Bool = false) -> (output: Tensor, scores: Tensor?) {
        attend(x, rotary: rotary, cache: nil, layer: 0, mask: mask, scoreBias: scoreBias, returnScores: returnScores)
    }

    /// Causal decoding: with a cache, the new keys and values are appended to layer `layer` (the caller
    /// commits them once every layer has run) and the queries attend to everything cached, the causal
    /// mask aligning them to the end of the keys.
    public func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), cache: KVCache?, layer: Int) -> Tensor {
        attend(x, rotary: rotary, cache: cache, layer: layer, mask: .causal, scoreBias: nil, returnScores: false).output
    }

    private func attend(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor)?, cache: KVCache?, layer: Int, mask: AttentionMask,
                        scoreBias: Tensor?, returnScores: Bool) -> (output: Tensor, scores: Tensor?) {
        precondition(x.rank == 3, "Attention expects [B, T, hidden], got \(x.shape)")
        let b = x.shape[0], t = x.shape[1]
        func split(_ y: Tensor, _ h: Int) -> Tensor { y.reshaped([b, t, h, headDim]).permuted([0, 2, 1, 3]) }
        var q = split(q_proj(x), heads)
        var k = split(k_proj(x), kvHeads)
        var v = split(v_proj(x), kvHeads)
        if let rotary {
            q = q.applyingRotary(cos: rotary.cos, sin: rotary.sin)
            k = k.applyingRotary(cos: rotary.cos, sin: rotary.sin)
        }
        if let cache { (k, v) = cache.append(layer: layer, keys: k, values: v) }
        let (o, scores) = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask,
                                                           bias: scoreBias, returnScores: returnScores)
        let merged = o.permuted([0, 2, 1, 3]).reshaped([b, t, heads * headDim])
        return (o_proj(merged), scores)
    }
}
