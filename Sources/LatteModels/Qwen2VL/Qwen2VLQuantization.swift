import LatteKernels
import LatteNN
import LatteTensor

// MARK: - Weights kept quantised

/// Which of Qwen2-VL's language-model matrices are kept in a GGUF block format in memory, so decoding
/// (bound by reading every weight once per token) reads 2-4× fewer bytes than from bf16.
///
/// The vision tower stays as loaded: it runs once per image on hundreds of patches at a time, where
/// the products are compute-bound and quantising saves little time and costs accuracy.
public struct Qwen2VLQuantization: Sendable, Equatable, CustomStringConvertible {
    /// q/k/v/o and gate/up/down of every layer.
    public var layers: QuantizedFormat
    /// The token embedding and the output head (the same table when tied); nil keeps them as loaded.
    /// Q8_0 by default even with Q4_1 layers: the head is the largest single matrix (2B: 151936 × 1536)
    /// and the logits are most sensitive to it, as llama.cpp's Q4 presets keep it at a finer type.
    public var head: QuantizedFormat?

    public init(layers: QuantizedFormat, head: QuantizedFormat? = .q8_0) { (self.layers, self.head) = (layers, head) }

    public var description: String { "\(layers) layers, " + (head.map { "\($0) embedding/head" } ?? "embedding/head as loaded") }
}

extension Qwen2VLModel {
    /// Quantises the language model's matrices in place (`Qwen2VLQuantization`), each from its loaded
    /// values (bf16 or f32) with ggml's reference rounding, and frees the originals: each layer's weight
    /// parameter becomes a frozen zero-stride placeholder of the same shape. Matrices whose input width
    /// is not a multiple of 32 (tiny test models only) stay as they are. Returns the quantised bytes.
    /// Afterwards the language model runs forward only (no gradient through quantised layers).
    @discardableResult
    public func quantizeLanguageModel(_ q: Qwen2VLQuantization) throws -> Int {
        var bytes = 0
        func quantize(_ weight: Parameter, _ format: QuantizedFormat, name: String) throws -> QuantizedWeight? {
            guard weight.shape.count == 2, weight.shape[1] % QuantizedFormat.blockElements == 0 else { return nil }
            let w: QuantizedWeight
            do { w = try QuantizedWeight(quantizing: weight.value, format: format) } catch let e as QuantizedWeightError {
                throw LLaMAError(file: "quantising \(name)", e.description)
            }
            weight.assign(Tensor.zeros([1, 1]).expanded(weight.shape))
            weight.isTrainable = false
            bytes += w.byteCount
            return w
        }
        for (i, layer) in model.layers.enumerated() {
            let a = layer.self_attn, m = layer.mlp
            for (name, linear) in [("q_proj", a.q_proj), ("k_proj", a.k_proj), ("v_proj", a.v_proj), ("o_proj", a.o_proj),
                                   ("gate_proj", m.gate_proj), ("up_proj", m.up_proj), ("down_proj", m.down_proj)] {
                if let w = try quantize(linear.weight, q.layers, name: "model.layers.\(i).\(name)") { linear.quantizedWeight = w }
            }
        }
        if let head = q.head {
            if let w = try quantize(model.embed_tokens.weight, head, name: "model.embed_tokens") { model.embed_tokens.quantizedWeight = w }
            if let lm_head, let w = try quantize(lm_head.weight, head, name: "lm_head") { lm_head.quantizedWeight = w }
        }
        return bytes
    }

    /// Bytes of the language model's weights one decoded token reads: every layer's matrices, biases
    /// and norms, the final norm and the output head, in the form they are kept (the embedding lookup
    /// reads one row, left out). Decoding's speed limit is this over the memory bandwidth.
    public var decodeWeightBytes: Int {
        func bytes(_ p: Parameter?) -> Int { p.map { $0.count * $0.value.dtype.size } ?? 0 }
        func bytes(_ l: Linear) -> Int { (l.quantizedWeight?.byteCount ?? bytes(l.weight)) + bytes(l.bias) }
        var total = bytes(model.norm.weight)
        for layer in model.layers {
            let a = layer.self_attn, m = layer.mlp
            total += [a.q_proj, a.k_proj, a.v_proj, a.o_proj, m.gate_proj, m.up_proj, m.down_proj].reduce(0) { $0 + bytes($1) }
            total += bytes(layer.input_layernorm.weight) + bytes(layer.post_attention_layernorm.weight)
        }
        if let lm_head { return total + bytes(lm_head) }
        return total + (model.embed_tokens.quantizedWeight?.byteCount ?? bytes(model.embed_tokens.weight))
    }
}
