import Foundation
import LatteNN
import LatteTensor

// MARK: - Model

/// Qwen2-VL (transformers' `Qwen2VLForConditionalGeneration`) with the checkpoint's own keys:
/// `model.*` (the Qwen2 language model), `visual.*` (the vision tower), `lm_head.weight` (absent when tied).
/// `init(configuration:)` makes placeholders; `Qwen2VLModel.load(huggingFaceFolder:)` reads weights.
/// Decoding and generation come from `CausalLanguageModel` (Qwen2VLLanguageModel.swift).
public final class Qwen2VLModel: Module {
    public let model: DecoderStack
    public let visual: Qwen2VLVisionTower
    public let lm_head: Linear?
    public let configuration: Qwen2VLConfiguration
    /// False when only a language model was loaded (a GGUF without its mmproj file): images are refused.
    public internal(set) var hasVisionWeights = true

    public init(configuration c: Qwen2VLConfiguration) {
        configuration = c
        let t = c.text
        model = DecoderStack(.init(vocabularySize: t.vocabularySize, hiddenSize: t.hiddenSize, intermediateSize: t.intermediateSize,
                                   layerCount: t.layerCount, headCount: t.headCount, kvHeadCount: t.kvHeadCount, headDim: t.headDim,
                                   rmsNormEps: t.rmsNormEps, qkvBias: true))
        visual = Qwen2VLVisionTower(configuration: c.vision)
        lm_head = c.tieWordEmbeddings ? nil : Linear(t.hiddenSize, t.vocabularySize, bias: false)
        super.init()
        // The checkpoints are bf16 and stay so in memory: decoding reads those weights directly.
        for case let (_, linear as Linear) in namedModules() { linear.readsBFloat16Directly = true }
    }

    /// Logits over the vocabulary for hidden states […, hidden], the head converted `rows` at a time.
    public func logits(_ hidden: Tensor, headBlockRows rows: Int) -> Tensor {
        if let q = lm_head?.quantizedWeight ?? (lm_head == nil ? model.embed_tokens.quantizedWeight : nil) { return q.linear(hidden) }
        let weight = lm_head?.weight.tensor ?? model.embed_tokens.weight.tensor
        guard weight.dtype == .bfloat16, weight.isContiguous else { return Tensor.linear(hidden, weight: weight) }
        if hidden.count / hidden.dim(-1) <= BFloat16Projection.maxRows { return BFloat16Projection.apply(hidden, weight: weight, bias: nil) }
        // More rows: the bf16 head (2B: 151936 × 1536) is converted a block of rows at a time, so the
        // float32 copy never exceeds ~50 MB instead of the whole 0.9 GB table.
        let vocabulary = weight.shape[0]
        var blocks: [Tensor] = []
        for start in stride(from: 0, to: vocabulary, by: rows) {
            blocks.append(Tensor.linear(hidden, weight: weight.sliced(axis: 0, start..<min(start + rows, vocabulary))))
        }
        return blocks.count == 1 ? blocks[0] : Tensor.concat(blocks, axis: -1)
    }

    /// A prompt's input embeddings [1, T, hidden] (image-pad tokens replaced, in order, by the vision
    /// tower's merged features) and its M-RoPE positions and delta.
    public func prepare(tokens: [Int], vision: Qwen2VLVisionInput?) throws -> (embeddings: Tensor, positions: Qwen2VLPositions, delta: Int) {
        let c = configuration
        try check(tokens)
        let grids = vision?.grids ?? []
        let (streams, delta) = try Qwen2VLRopeIndex.compute(tokens: tokens, grids: grids, imageTokenID: c.imageTokenID,
                                                            mergeSize: c.vision.spatialMergeSize)
        var embeddings = model.embed(Tensor(indices: tokens, shape: [1, tokens.count]))
        if let vision {
            guard hasVisionWeights else {
                throw LLaMAError(file: "prompt", "this Qwen2-VL model was loaded without its vision tower (a language-model GGUF needs its mmproj file for images)")
            }
            let features = try visual(vision)
            embeddings = Self.scatter(features, into: embeddings, at: tokens.indices.filter { tokens[$0] == c.imageTokenID })
        }
        return (embeddings, Qwen2VLPositions(rows: [streams]), delta)
    }

    /// Rows of `features` [n, hidden] written over `embeddings` [1, T, hidden] at `positions` (n of them).
    static func scatter(_ features: Tensor, into embeddings: Tensor, at positions: [Int]) -> Tensor {
        precondition(features.shape[0] == positions.count, "\(features.shape[0]) image features for \(positions.count) image tokens")
        let e = embeddings.toFloat32().contiguous(), f = features.toFloat32().contiguous()
        let result = Tensor.empty(e.shape), width = e.shape[2]
        withExtendedLifetime((e, f)) {
            result.f32.update(from: e.f32, count: e.count)
            for (k, p) in positions.enumerated() { (result.f32 + p * width).update(from: f.f32 + k * width, count: width) }
        }
        return result
    }

    /// Full-sequence logits [1, T, vocab] of a prompt with optional images (no cache).
    public func callAsFunction(tokens: [Int], vision: Qwen2VLVisionInput? = nil) throws -> Tensor {
        let (embeddings, positions, _) = try prepare(tokens: tokens, vision: vision)
        return logits(hiddenStates(embeddings: embeddings, positions: positions, cache: nil))
    }

    /// Logits [B, T, vocab] of text-only ids [B, T] (positions 0..<T in all three streams).
    public func callAsFunction(_ tokens: Tensor) -> Tensor {
        logits(hiddenStates(tokens, cache: nil))
    }
}

// MARK: - Prompt backbone

extension Qwen2VLModel: PromptBackbone {
    public var promptRopeTheta: Float { configuration.text.ropeTheta }
    public var promptRopeSections: [Int]? { configuration.text.mropeSection }

    /// One prompt with images: per-layer keys (after M-RoPE) and values [1, kvHeads, T, headDim], and
    /// the position the next token would take (last position + 1, less than T after images).
    public func prefill(tokens: [Int], vision: Qwen2VLVisionInput?) throws -> (keys: [Tensor], values: [Tensor], nextPosition: Int) {
        let cache = makeCache()
        _ = try prefill(tokens, images: vision, cache: cache, lastOnly: true)
        return (cache.keys, cache.values, cache.nextPosition)
    }
}

// MARK: - Loading

extension Qwen2VLModel {
    /// Loads a Hugging Face folder: config.json and model.safetensors or a sharded
    /// model.safetensors.index.json. Strict (every parameter present with its shape, no stray key).
    /// Tensors keep their storage, so a bf16 checkpoint stays bf16 (memory-mapped) and each layer
    /// converts its weights to float32 when it runs.
    ///
    /// With `quantization`, the language model's matrices are then quantised in memory
    /// (`quantizeLanguageModel`) and the model runs forward only.
    public static func load(huggingFaceFolder folder: URL, quantization: Qwen2VLQuantization? = nil) throws -> Qwen2VLModel {
        let configuration = try Qwen2VLConfiguration(configJSON: folder.appendingPathComponent("config.json"))
        let model = Qwen2VLModel(configuration: configuration)
        try model.loadWeights(folder: folder) { try sanitize($0, tied: configuration.tieWordEmbeddings) }
        if let quantization { try model.quantizeLanguageModel(quantization) }
        return model
    }

    /// Maps transformers' in-memory layout (`model.language_model.*`, `model.visual.*`), should a
    /// checkpoint use it, onto the Hub layout; drops rotary buffers and a tied head's duplicate.
    static func sanitize(_ tensors: [String: Tensor], tied: Bool) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for (key, t) in tensors {
            if key.hasSuffix("rotary_emb.inv_freq") || key.hasSuffix("rotary_pos_emb.inv_freq") { continue }
            if tied && key == "lm_head.weight" { continue }
            var k = key
            if k.hasPrefix("model.language_model.") { k = "model." + k.dropFirst("model.language_model.".count) }
            else if k.hasPrefix("model.visual.") { k = String(k.dropFirst("model.".count)) }
            out[k] = t
        }
        return out
    }
}
