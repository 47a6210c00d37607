import Foundation
import LatteNN
import LatteTensor

/// The sizes a caller of a causal language model needs: the KV cache's geometry, the vocabulary, the
/// context.
public struct LanguageModelGeometry: Sendable, Equatable {
    public var layerCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var hiddenSize: Int
    public var vocabularySize: Int
    /// Positions the model was trained for (`max_position_embeddings`, a GGUF's `context_length`): a
    /// prompt and its continuation together may not exceed it.
    public var contextLength: Int

    public init(layerCount: Int, kvHeadCount: Int, headDim: Int, hiddenSize: Int, vocabularySize: Int, contextLength: Int) {
        (self.layerCount, self.kvHeadCount, self.headDim, self.hiddenSize, self.vocabularySize, self.contextLength) =
            (layerCount, kvHeadCount, headDim, hiddenSize, vocabularySize, contextLength)
    }
}

/// A decoder-only language model that appends to a KV cache: what `TokenGenerator`, the text stream,
/// `latte chat` and `latte bench lm` use, whatever the family. A family implements what differs —
/// embeddings and positions, the output head, images in a prompt — and the extension below holds the
/// rest once: the checked prefill and decode steps, the cache, the prompt keys and values.
///
/// Implemented by `LLaMAModel` and `Qwen2VLModel` (its Qwen2 language model, with the vision tower
/// filling a prompt's image tokens).
public protocol CausalLanguageModel: AnyObject {
    var geometry: LanguageModelGeometry { get }

    /// Final hidden states [B, T, hidden] (after the last norm) of text token ids [B, T] (an integer
    /// tensor whose ids are in the vocabulary) at the positions following `cache?.nextPosition`; with a
    /// cache, their keys and values are appended and committed.
    func hiddenStates(_ tokens: Tensor, cache: KVCache?) -> Tensor

    /// Logits over the vocabulary for hidden states […, hidden].
    func logits(_ hidden: Tensor) -> Tensor

    /// Final hidden states [1, T, hidden] of a whole prompt (ids already checked) run into the empty
    /// `cache`. Text-only models take the default, which refuses images.
    func promptHiddenStates(_ tokens: [Int], images: Qwen2VLVisionInput?, cache: KVCache) throws -> Tensor
}

/// A token sequence the model cannot take; the message names the problem.
public enum LanguageModelError: Error, Equatable, CustomStringConvertible, LocalizedError, Sendable {
    case emptyInput
    case tokenOutOfVocabulary(id: Int, index: Int, vocabularySize: Int)
    /// `positions` would be cached, more than the model's `contextLength`.
    case contextOverflow(positions: Int, contextLength: Int)
    case imagesNotSupported

    public var description: String {
        switch self {
        case .emptyInput: return "no tokens to run: a prompt needs at least one"
        case let .tokenOutOfVocabulary(id, index, size):
            return "token id \(id) (at index \(index)) is outside the model's vocabulary of \(size) ids (0..<\(size))"
        case let .contextOverflow(positions, context):
            return "\(positions) positions exceed the model's context of \(context) (max_position_embeddings); shorten the prompt or generate fewer tokens"
        case .imagesNotSupported: return "this model reads text only; images need a vision-language model (a Qwen2-VL folder)"
        }
    }

    public var errorDescription: String? { description }
}

extension CausalLanguageModel {
    public func promptHiddenStates(_ tokens: [Int], images: Qwen2VLVisionInput?, cache: KVCache) throws -> Tensor {
        guard images == nil else { throw LanguageModelError.imagesNotSupported }
        return hiddenStates(Tensor(indices: tokens, shape: [1, tokens.count]), cache: cache)
    }

    /// An empty cache for this model's layers (`chunk`: positions added each time it grows).
    public func makeCache(batch: Int = 1, capacity: Int = 0, chunk: Int = 256) -> KVCache {
        let g = geometry
        return KVCache(layerCount: g.layerCount, kvHeads: g.kvHeadCount, headDim: g.headDim, batch: batch, capacity: capacity, chunk: chunk)
    }

    /// Throws unless `tokens` can follow the `cached` positions: at least one, every id in the
    /// vocabulary, all within the context.
    public func check(_ tokens: [Int], after cached: Int = 0) throws {
        let g = geometry
        guard !tokens.isEmpty else { throw LanguageModelError.emptyInput }
        if let i = tokens.firstIndex(where: { $0 < 0 || $0 >= g.vocabularySize }) {
            throw LanguageModelError.tokenOutOfVocabulary(id: tokens[i], index: i, vocabularySize: g.vocabularySize)
        }
        guard cached + tokens.count <= g.contextLength else {
            throw LanguageModelError.contextOverflow(positions: cached + tokens.count, contextLength: g.contextLength)
        }
    }

    /// Runs a prompt (with images, for a vision-language model) into `cache`, emptied first; returns
    /// its logits [1, T, vocab], or [1, 1, vocab] of the last position with `lastOnly`.
    public func prefill(_ tokens: [Int], images: Qwen2VLVisionInput? = nil, cache: KVCache, lastOnly: Bool = false) throws -> Tensor {
        try check(tokens)
        cache.reset()
        let h = try withoutGradient { try promptHiddenStates(tokens, images: images, cache: cache) }
        return withoutGradient { logits(lastOnly ? h.sliced(axis: 1, (h.dim(1) - 1)..<h.dim(1)) : h) }
    }

    /// Feeds text tokens after what `cache` holds; returns their logits [1, T, vocab] (or the last one's).
    public func decode(_ tokens: [Int], cache: KVCache, lastOnly: Bool = false) throws -> Tensor {
        try check(tokens, after: cache.length)
        return withoutGradient {
            let h = hiddenStates(Tensor(indices: tokens, shape: [1, tokens.count]), cache: cache)
            return logits(lastOnly ? h.sliced(axis: 1, (h.dim(1) - 1)..<h.dim(1)) : h)
        }
    }

    /// Logits [B, vocab] of the last position of token ids [B, T]: what generation needs, without
    /// projecting every prompt position onto the vocabulary. Unchecked, like `hiddenStates`.
    public func lastLogits(_ tokens: Tensor, cache: KVCache? = nil) -> Tensor {
        let h = hiddenStates(tokens, cache: cache)
        return logits(h.sliced(axis: 1, (h.dim(1) - 1)..<h.dim(1)).squeezed(1))
    }

    /// The prompt's per-layer keys (after RoPE) and values, each [B, kvHeads, T, headDim], computed
    /// without the tape: the frozen backbone's prompt cache for the generator.
    public func prefill(tokens: Tensor) -> (keys: [Tensor], values: [Tensor]) {
        withoutGradient {
            let cache = makeCache(batch: tokens.shape[0], capacity: tokens.shape[1])
            _ = hiddenStates(tokens, cache: cache)
            return (cache.keys, cache.values)
        }
    }

    /// Prompts of different lengths in one batch: right-padded (with id 0) to the longest, so under the
    /// causal mask no real position sees padding and the real keys and values equal each prompt's own.
    /// `lengths` says how many positions of each row are real — the generator's `PromptCache` masks
    /// the rest.
    public func prefill(prompts: [[Int]]) -> (keys: [Tensor], values: [Tensor], lengths: [Int]) {
        precondition(!prompts.isEmpty && prompts.allSatisfy { !$0.isEmpty }, "prefill needs non-empty prompts")
        let t = prompts.map(\.count).max()!
        let ids = prompts.flatMap { $0 + [Int](repeating: 0, count: t - $0.count) }
        let (keys, values) = prefill(tokens: Tensor(indices: ids, shape: [prompts.count, t]))
        return (keys, values, prompts.map(\.count))
    }
}
