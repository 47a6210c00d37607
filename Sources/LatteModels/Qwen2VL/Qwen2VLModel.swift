import Foundation
import LatteNN
import LatteTensor

// MARK: - Model

/// Qwen2-VL (transformers' `Qwen2VLForConditionalGeneration`) with the checkpoint's own keys:
/// `model.*` (the Qwen2 language model), `visual.*` (the vision tower), `lm_head.weight` (absent when tied).
/// `init(configuration:)` makes placeholders; `Qwen2VLModel.load(huggingFaceFolder:)` reads weights.
public final class Qwen2VLModel: Module {
    public let model: Qwen2VLTextBackbone
    public let visual: Qwen2VLVisionTower
    public let lm_head: Linear?
    public let configuration: Qwen2VLConfiguration

    public init(configuration c: Qwen2VLConfiguration) {
        configuration = c
        model = Qwen2VLTextBackbone(c.text)
        visual = Qwen2VLVisionTower(configuration: c.vision)
        lm_head = c.tieWordEmbeddings ? nil : Linear(c.text.hiddenSize, c.text.vocabularySize, bias: false)
    }

    /// Logits over the vocabulary for hidden states […, hidden].
    public func logits(_ hidden: Tensor, headBlockRows rows: Int = 8192) -> Tensor {
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

    /// An empty KV cache sized for the language model.
    public func makeCache(batch: Int = 1, capacity: Int = 0) -> KVCache {
        KVCache(configuration: cacheGeometry, batch: batch, capacity: capacity)
    }

    /// The cache only needs layers, KV heads and head size; `KVCache` takes them from a LLaMA configuration.
    private var cacheGeometry: LLaMAConfiguration {
        let t = configuration.text
        return LLaMAConfiguration(hiddenSize: t.hiddenSize, intermediateSize: t.intermediateSize, layerCount: t.layerCount,
                                  headCount: t.headCount, kvHeadCount: t.kvHeadCount, headDim: t.headDim,
                                  vocabularySize: t.vocabularySize)
    }

    /// A prompt's input embeddings [1, T, hidden] (image-pad tokens replaced, in order, by the vision
    /// tower's merged features) and its M-RoPE positions and delta.
    public func prepare(tokens: [Int], vision: Qwen2VLVisionInput?) throws -> (embeddings: Tensor, positions: Qwen2VLPositions, delta: Int) {
        let c = configuration
        guard !tokens.isEmpty else { throw LLaMAError(file: "prompt", "no tokens") }
        if let bad = tokens.first(where: { $0 < 0 || $0 >= c.text.vocabularySize }) {
            throw LLaMAError(file: "prompt", "token id \(bad) is outside the vocabulary of \(c.text.vocabularySize)")
        }
        let grids = vision?.grids ?? []
        let (streams, delta) = try Qwen2VLRopeIndex.compute(tokens: tokens, grids: grids, imageTokenID: c.imageTokenID,
                                                            mergeSize: c.vision.spatialMergeSize)
        var embeddings = model.embed(Tensor(indices: tokens, shape: [1, tokens.count]))
        if let vision {
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
        return logits(model(embeddings: embeddings, positions: positions, cache: nil))
    }

    /// Logits [B, T, vocab] of text-only ids [B, T] (positions 0..<T in all three streams).
    public func callAsFunction(_ tokens: Tensor) -> Tensor {
        precondition(tokens.rank == 2, "Qwen2-VL expects token ids [B, T], got \(tokens.shape)")
        let positions = Qwen2VLPositions.text(start: 0, count: tokens.shape[1], batch: tokens.shape[0])
        return logits(model(embeddings: model.embed(tokens), positions: positions, cache: nil))
    }

    /// A decoding session: prefill once, then feed tokens; positions continue from the prompt's delta.
    public func makeSession() -> Qwen2VLSession { Qwen2VLSession(model: self) }
}

/// Incremental decoding with a KV cache. After a prompt with images, later positions are
/// cache length + delta in all three streams (transformers' `rope_deltas`).
public final class Qwen2VLSession {
    public let model: Qwen2VLModel
    public let cache: KVCache
    public private(set) var delta = 0

    init(model: Qwen2VLModel) {
        self.model = model
        cache = model.makeCache()
    }

    /// The M-RoPE position the next token gets.
    public var nextPosition: Int { cache.length + delta }

    /// Runs the prompt; returns logits [1, T, vocab], or [1, 1, vocab] of the last position with `lastOnly`.
    public func prefill(tokens: [Int], vision: Qwen2VLVisionInput? = nil, lastOnly: Bool = false) throws -> Tensor {
        cache.reset()
        let (embeddings, positions, delta) = try model.prepare(tokens: tokens, vision: vision)
        self.delta = delta
        return project(model.model(embeddings: embeddings, positions: positions, cache: cache), lastOnly: lastOnly)
    }

    /// Feeds text tokens after what the cache holds; returns their logits (or the last one's).
    public func decode(_ tokens: [Int], lastOnly: Bool = false) throws -> Tensor {
        let vocabulary = model.configuration.text.vocabularySize
        if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw LLaMAError(file: "decode", "token id \(bad) is outside the vocabulary of \(vocabulary)")
        }
        guard !tokens.isEmpty else { throw LLaMAError(file: "decode", "no tokens") }
        let positions = Qwen2VLPositions.text(start: nextPosition, count: tokens.count)
        let h = model.model(embeddings: model.model.embed(Tensor(indices: tokens, shape: [1, tokens.count])), positions: positions, cache: cache)
        return project(h, lastOnly: lastOnly)
    }

    private func project(_ h: Tensor, lastOnly: Bool) -> Tensor {
        model.logits(lastOnly ? h.sliced(axis: 1, (h.dim(1) - 1)..<h.dim(1)) : h)
    }
}

// MARK: - Prompt backbone

extension Qwen2VLModel: PromptBackbone {
    public var promptLayerCount: Int { configuration.text.layerCount }
    public var promptKVHeads: Int { configuration.text.kvHeadCount }
    public var promptHeadDim: Int { configuration.text.headDim }

    /// Text prompts right-padded with id 0 (causal attention keeps real positions blind to padding);
    /// keys are after M-RoPE (for text, plain positions 0..<T).
    public func prefill(prompts: [[Int]]) -> (keys: [Tensor], values: [Tensor], lengths: [Int]) {
        precondition(!prompts.isEmpty && prompts.allSatisfy { !$0.isEmpty }, "prefill needs non-empty prompts")
        let t = prompts.map(\.count).max()!
        let ids = prompts.flatMap { $0 + [Int](repeating: 0, count: t - $0.count) }
        return withoutGradient {
            let cache = makeCache(batch: prompts.count, capacity: t)
            _ = model(embeddings: model.embed(Tensor(indices: ids, shape: [prompts.count, t])),
                      positions: .text(start: 0, count: t, batch: prompts.count), cache: cache)
            return (cache.keys, cache.values, prompts.map(\.count))
        }
    }

    /// One prompt with images: per-layer keys (after M-RoPE) and values [1, kvHeads, T, headDim], and
    /// the position the next token would take (last position + 1, less than T after images).
    public func prefill(tokens: [Int], vision: Qwen2VLVisionInput?) throws -> (keys: [Tensor], values: [Tensor], nextPosition: Int) {
        try withoutGradient {
            let session = makeSession()
            _ = try session.prefill(tokens: tokens, vision: vision, lastOnly: true)
            return (session.cache.keys, session.cache.values, session.nextPosition)
        }
    }
}

// MARK: - Loading

extension Qwen2VLModel {
    /// Loads a Hugging Face folder: config.json and model.safetensors or a sharded
    /// model.safetensors.index.json. Strict (every parameter present with its shape, no stray key).
    /// Tensors keep their storage, so a bf16 checkpoint stays bf16 (memory-mapped) and each layer
    /// converts its weights to float32 when it runs.
    public static func load(huggingFaceFolder folder: URL) throws -> Qwen2VLModel {
        let configuration = try Qwen2VLConfiguration(configJSON: folder.appendingPathComponent("config.json"))
        let model = Qwen2VLModel(configuration: configuration)
        try model.loadWeights(folder: folder) { try sanitize($0, tied: configuration.tieWordEmbeddings) }
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
