import Foundation
import LatteNN
import LatteTensor
import LatteTokenizers

/// Answers questions about images with the frozen LM and a trained projector: the prompt of
/// `VisionPrompt` with the projected image tokens in its placeholder rows, then greedy decoding to
/// `<|im_end|>` (or `maxTokens`). Used by `latte train-vision`'s held-out evaluation and by
/// `latte chat --image` on the default model.
public struct VisionAnswerer {
    public let lm: LLaMAModel
    public let projector: ImageTokenProjector
    public let tokenizer: Tokenizer

    public init(lm: LLaMAModel, projector: ImageTokenProjector, tokenizer: Tokenizer) {
        (self.lm, self.projector, self.tokenizer) = (lm, projector, tokenizer)
    }

    /// The answer to `question` about images given as encoder tokens [K, T, C] (K images of T tokens);
    /// `onText` receives each decoded piece as it comes (streaming), `onTokenID` each generated id.
    /// `stopAtEnd` false decodes `maxTokens` tokens whatever they are (speed measurements).
    public func answer(_ question: String, tokens: Tensor, maxTokens: Int = 24, stopAtEnd: Bool = true, onText: (String) -> Void = { _ in },
                       onTokenID: (Int) -> Void = { _ in }) throws -> String {
        precondition(tokens.rank == 3, "image tokens must be [images, tokens, channels], got \(tokens.shape)")
        let (k, t) = (tokens.shape[0], tokens.shape[1])
        let prompt = try VisionPrompt.build(tokenizer: tokenizer, question: question, images: k, tokensPerImage: t)
        let context = lm.geometry.contextLength
        guard prompt.ids.count + maxTokens <= context else {
            throw LanguageModelError.contextOverflow(positions: prompt.ids.count + maxTokens, contextLength: context)
        }
        let end = tokenizer.tokenToID("<|im_end|>")!
        return withoutGradient {
            let cache = lm.makeCache(capacity: prompt.ids.count + maxTokens)
            let h = prefill(prompt, tokens: tokens, cache: cache)
            var next = lm.logits(h.sliced(axis: 1, (h.dim(1) - 1)..<h.dim(1))).reshaped([-1]).argmax(axis: 0).toIntArray()[0]
            var ids: [Int] = []
            var shown = ""
            while (!stopAtEnd || (next != end && next != tokenizer.eosTokenID)) && ids.count < maxTokens {
                ids.append(next)
                onTokenID(next)
                let decoded = tokenizer.decode(ids, skipSpecialTokens: true)
                if decoded.count > shown.count, decoded.hasPrefix(shown) { onText(String(decoded.dropFirst(shown.count))); shown = decoded }
                next = lm.lastLogits(Tensor(indices: [next], shape: [1, 1]), cache: cache).reshaped([-1]).argmax(axis: 0).toIntArray()[0]
            }
            return tokenizer.decode(ids, skipSpecialTokens: true).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// The prompt of `question` about images given as encoder tokens [K, T, C], laid out by `VisionPrompt`.
    public func prompt(_ question: String, tokens: Tensor) throws -> VisionPrompt {
        precondition(tokens.rank == 3, "image tokens must be [images, tokens, channels], got \(tokens.shape)")
        return try VisionPrompt.build(tokenizer: tokenizer, question: question, images: tokens.shape[0], tokensPerImage: tokens.shape[1])
    }

    /// Runs `prompt` (its placeholder rows replaced by the projected `tokens` [K, T, C]) through the LM into
    /// `cache` and returns the hidden states [1, prompt length, width]: the chat path's prefill, whose
    /// keys and values `latte generate --like` reads as an image prompt (`ImagePromptEncoder`, tested equal).
    public func prefill(_ prompt: VisionPrompt, tokens: Tensor, cache: KVCache) -> Tensor {
        withoutGradient {
            let (k, t) = (tokens.shape[0], tokens.shape[1])
            let text = lm.inputEmbeddings(Tensor(indices: prompt.ids, shape: [1, prompt.ids.count]))
            let images = projector(tokens.reshaped([1, k * t, tokens.shape[2]]))
            let embeddings = ImageTokenInsertion.embeddings(batch: text, block: prompt.imagePositions, with: images)
            return lm.hiddenStates(embeddings: embeddings, cache: cache)
        }
    }
}
