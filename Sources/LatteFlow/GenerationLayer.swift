import LatteNN
import LatteTensor

/// One generation layer, the trainable twin of backbone layer ℓ (docs/method.md §2): its own norms,
/// Q/K/V/O projections and SwiGLU MLP; K/V heads with the backbone layer's geometry so image queries
/// attend to [K_prompt ; K_image]. Adaptive norms modulated by the timestep (shift, scale, gate;
/// zero-initialised as DiT's adaLN-Zero), and an optional residual-attention gate.
public final class GenerationLayer: Module {
    public let input_layernorm: RMSNorm
    public let post_attention_layernorm: RMSNorm
    public let q_proj: Linear
    public let k_proj: Linear
    public let v_proj: Linear
    public let o_proj: Linear
    public let mlp: SwiGLU
    /// SiLU(temb) → shift, scale, gate for attention and for the MLP (6·width values).
    public let adaLN_modulation: Linear
    public let residual_gate: ResidualAttentionGate?

    let queryHeads: Int, kvHeads: Int, headDim: Int
    let residualMode: ResidualAttentionMode

    public init(_ c: GeneratorConfiguration, residualGate: Bool, generator: inout RandomGenerator) {
        residualMode = c.residualAttention
        queryHeads = c.queryHeads
        kvHeads = c.kvHeads
        headDim = c.headDim
        input_layernorm = RMSNorm(c.width, eps: c.normEps)
        post_attention_layernorm = RMSNorm(c.width, eps: c.normEps)
        let std = 0.02 as Float
        q_proj = Linear(c.width, c.queryHeads * c.headDim, bias: c.attentionBias, weightInit: .normal(std: std), biasInit: .constant(0), generator: &generator)
        k_proj = Linear(c.width, c.kvHeads * c.headDim, bias: c.attentionBias, weightInit: .normal(std: std), biasInit: .constant(0), generator: &generator)
        v_proj = Linear(c.width, c.kvHeads * c.headDim, bias: c.attentionBias, weightInit: .normal(std: std), biasInit: .constant(0), generator: &generator)
        o_proj = Linear(c.queryHeads * c.headDim, c.width, bias: false, weightInit: .normal(std: std), generator: &generator)
        mlp = SwiGLU(hiddenSize: c.width, intermediateSize: c.mlpWidth, generator: &generator)
        adaLN_modulation = Linear(c.width, 6 * c.width, weightInit: .constant(0), biasInit: .constant(0), generator: &generator)
        residual_gate = residualGate ? ResidualAttentionGate(width: c.width, heads: c.queryHeads, generator: &generator) : nil
    }

    /// h [B, N, width] → (h′, S̃ image-to-image pre-softmax scores [B, Hq, N, N] when the residual
    /// attention is on, for the next layer).
    ///
    /// - conditioning: SiLU(temb) [B, width].
    /// - prompt: the prepared prompt; this layer reads its keys and values [B, kvHeads, T, headDim]
    ///   of backbone layer `layer`, its padding masks and the image tokens' rotary tables.
    /// - previousScores: S̃_{ℓ−1} for the residual (nil for the first layer of a group).
    public func callAsFunction(
        _ h: Tensor, conditioning: Tensor, prompt: PreparedPrompt, layer: Int, previousScores: Tensor?
    ) -> (hidden: Tensor, scores: Tensor?) {
        let (b, n, w) = (h.dim(0), h.dim(1), h.dim(2))
        let promptKeys = prompt.cache.keys[layer], promptValues = prompt.cache.values[layer]
        let promptBias = prompt.promptBias, rotary = prompt.rotary
        let mod = adaLN_modulation(conditioning).reshaped([b, 1, 6 * w]).chunked(6, axis: 2)
        let (shift1, scale1, gate1, shift2, scale2, gate2) = (mod[0], mod[1], mod[2], mod[3], mod[4], mod[5])

        let x = input_layernorm(h) * (scale1 + 1) + shift1
        let q = q_proj(x).reshaped([b, n, queryHeads, headDim]).permuted([0, 2, 1, 3]).applyingRotary(cos: rotary.cos, sin: rotary.sin)
        let kImg = k_proj(x).reshaped([b, n, kvHeads, headDim]).permuted([0, 2, 1, 3]).applyingRotary(cos: rotary.cos, sin: rotary.sin)
        let vImg = v_proj(x).reshaped([b, n, kvHeads, headDim]).permuted([0, 2, 1, 3])
        let t = promptKeys.dim(2)
        let keys = Tensor.concat([promptKeys, kImg], axis: 2)
        let values = Tensor.concat([promptValues, vImg], axis: 2)

        let gate: Tensor? = (residual_gate != nil && previousScores != nil) ? residual_gate!(conditioning) : nil
        let attn: Tensor, maps: Tensor?
        switch residualMode {
        case .off, .preSoftmax:
            // Additive score bias over [prompt | image] columns: prompt padding, and γ ⊙ S̃_{ℓ−1} on the
            // image-to-image block (docs/method.md §4).
            var bias: Tensor? = nil
            if let gate {
                let promptPart = (promptBias ?? Tensor.zeros([b, 1, 1, t])).expanded([b, queryHeads, n, t])
                bias = Tensor.concat([promptPart, gate * previousScores!], axis: 3)
            } else if let padding = prompt.attentionBias {
                // Padding only: one [B, 1, 1, T + N] row that broadcasts over heads and queries.
                bias = padding
            }
            // Every layer of the chain hands its scores on (the first of a group has no gate but its
            // S̃ = S feeds the second).
            let (a, scores) = Tensor.scaledDotProductAttention(query: q, key: keys, value: values, bias: bias,
                                                               returnScores: residualMode == .preSoftmax)
            attn = a
            maps = scores.map { $0.sliced(axis: 3, t..<(t + n)) }
        case .postSoftmax:
            (attn, maps) = postSoftmaxAttention(q: q, keys: keys, values: values, attentionBias: prompt.attentionBias, promptLength: t,
                                                gate: gate, previousMaps: previousScores)
        }
        let merged = attn.permuted([0, 2, 1, 3]).reshaped([b, n, queryHeads * headDim])
        var out = h + gate1 * o_proj(merged)
        out = out + gate2 * mlp(post_attention_layernorm(out) * (scale2 + 1) + shift2)
        return (out, maps)
    }

    /// The post-softmax variant (docs/method.md §4, a config option): A = softmax(S) over [prompt | image]
    /// keys, then on the image-to-image block Ã_ℓ = A_ℓ + γ_ℓ(t) ⊙ Ã_{ℓ−1}, the figure's
    /// "A^ℓ + Gate(temb) ⊗ A^{ℓ−1}" taken literally (rows are not renormalised; γ ∈ (−1, 1) starts at 0).
    /// Returns the attention output [B, Hq, N, headDim] and Ã_ℓ's image block for the next layer.
    func postSoftmaxAttention(q: Tensor, keys: Tensor, values: Tensor, attentionBias: Tensor?, promptLength t: Int,
                              gate: Tensor?, previousMaps: Tensor?) -> (Tensor, Tensor) {
        let b = q.dim(0), n = q.dim(2), columns = keys.dim(2)
        let group = queryHeads / kvHeads
        // Grouped-query attention: each K/V head serves `group` consecutive query heads.
        func perQueryHead(_ x: Tensor) -> Tensor {
            group == 1 ? x : x.unsqueezed(2).expanded([b, kvHeads, group, columns, headDim]).contiguous().reshaped([b, queryHeads, columns, headDim])
        }
        var scores = q.matmul(perQueryHead(keys).transposed()) * (1 / Float(headDim).squareRoot())
        if let attentionBias { scores = scores + attentionBias }
        let probabilities = scores.softmax(axis: -1)
        var image = probabilities.sliced(axis: 3, t..<(t + n))
        if let gate, let previousMaps { image = image + gate * previousMaps }
        let mixed = Tensor.concat([probabilities.sliced(axis: 3, 0..<t), image], axis: 3)
        return (mixed.matmul(perQueryHead(values)), image)
    }
}
