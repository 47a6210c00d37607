import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers

/// Image prompts for the generator (`latte generate --like`, `latte train-like`): the vision path's user
/// turn with one image and a fixed instruction,
///
///     <|im_start|>user\n [image tokens] \nDraw another one like this.<|im_end|>\n<|im_start|>assistant\n
///
/// (`VisionPrompt`'s layout, the one the projector was trained and chat answers with), run through the
/// frozen LM with the frozen projector; its per-layer keys (after RoPE) and values are the `PromptCache`
/// the generator reads, exactly as it reads a text prompt's. Training (`ImagePromptTable`) and sampling
/// both come through `caches(tokens:)`, so they see the same keys; `ImagePromptEncoderTests` checks them
/// against the chat path's prefill (`VisionAnswerer.prefill`).
///
/// Every image prompt has the same length (one image, the same instruction), so a batch of them needs no
/// padding and is one prefill.
public struct ImagePromptEncoder {
    /// The instruction after the image (model.json's `image_prompts.instruction` records what a model was trained with).
    public static let defaultInstruction = "Draw another one like this."

    public let lm: LLaMAModel
    public let projector: ImageTokenProjector
    public let instruction: String
    /// The token layout of one image prompt (placeholder ids in the image block).
    public let prompt: VisionPrompt
    public var tokensPerImage: Int { prompt.imagePositions.count }
    /// Tokens of every image prompt.
    public var length: Int { prompt.ids.count }

    public init(lm: LLaMAModel, projector: ImageTokenProjector, tokenizer: Tokenizer, tokensPerImage: Int,
                instruction: String = defaultInstruction) throws {
        guard projector.width == lm.configuration.hiddenSize else {
            throw GeneratorError.invalidConfiguration("the projector writes \(projector.width)-wide embeddings, the backbone takes \(lm.configuration.hiddenSize)")
        }
        guard !instruction.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw GeneratorError.invalidInput("an image prompt needs an instruction (e.g. \"\(Self.defaultInstruction)\")")
        }
        (self.lm, self.projector, self.instruction) = (lm, projector, instruction)
        prompt = try VisionPrompt.build(tokenizer: tokenizer, question: instruction, images: 1, tokensPerImage: tokensPerImage)
    }

    /// One-row-per-image prompt caches of images given as pooled encoder tokens [N, T, C] (f32 or f16),
    /// all of `length` keys: one batched prefill without the tape.
    public func caches(tokens: Tensor) -> PromptCache {
        precondition(tokens.rank == 3 && tokens.shape[1] == tokensPerImage && tokens.shape[2] == projector.encoderChannels,
                     "image tokens must be [N, \(tokensPerImage), \(projector.encoderChannels)], got \(tokens.shape)")
        let n = tokens.shape[0], ids = prompt.ids
        return withoutGradient {
            let text = lm.inputEmbeddings(Tensor(indices: Array([[Int]](repeating: ids, count: n).joined()), shape: [n, ids.count]))
            let images = projector(tokens.dtype == .float32 ? tokens : tokens.toFloat32())
            let embeddings = ImageTokenInsertion.embeddings(batch: text, block: prompt.imagePositions, with: images)
            let cache = lm.makeCache(batch: n, capacity: ids.count)
            _ = lm.hiddenStates(embeddings: embeddings, cache: cache)
            return PromptCache(keys: cache.keys, values: cache.values, lengths: [Int](repeating: ids.count, count: n))
        }
    }
}
