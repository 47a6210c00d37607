import LatteTokenizers

/// The token layout the vision path trains and answers with (ChatML without a system turn):
///
///     <|im_start|>user\n [image tokens] \n QUESTION <|im_end|>\n<|im_start|>assistant\n ANSWER <|im_end|>
///
/// Each image is a block of `tokensPerImage` placeholder ids (their rows are replaced by the projector's
/// output, so the id itself is never read) directly after the user marker, images one after another.
/// No system turn: every prompt token is computed for every training sample, and SmolLM2's default
/// system text would double the sequence.
public struct VisionPrompt: Equatable, Sendable {
    /// Prompt ids (then the answer's, when one was given).
    public var ids: [Int]
    /// Positions of the image placeholders, one contiguous block for all images.
    public var imagePositions: Range<Int>
    /// Index in `ids` where the answer starts (ids.count when there is none): the loss covers
    /// ids[answerStart...], the answer and its closing `<|im_end|>`.
    public var answerStart: Int

    public init(ids: [Int], imagePositions: Range<Int>, answerStart: Int) {
        (self.ids, self.imagePositions, self.answerStart) = (ids, imagePositions, answerStart)
    }

    /// The placeholder id (`<|endoftext|>` in SmolLM2's vocabulary; any id would do).
    public static let placeholderID = 0

    public static func build(tokenizer: Tokenizer, question: String, answer: String? = nil, images: Int = 1,
                             tokensPerImage: Int) throws -> VisionPrompt {
        guard let start = tokenizer.tokenToID("<|im_start|>"), tokenizer.tokenToID("<|im_end|>") != nil else {
            throw BackboneError("the tokenizer has no ChatML markers (<|im_start|>, <|im_end|>): the vision path needs SmolLM2's vocabulary")
        }
        let head = [start] + tokenizer.encode("user\n", addSpecialTokens: false)
        let image = [Int](repeating: placeholderID, count: images * tokensPerImage)
        let tail = tokenizer.encode("\n\(question)<|im_end|>\n<|im_start|>assistant\n", addSpecialTokens: false)
        let prompt = head + image + tail
        let answerIDs = answer.map { tokenizer.encode($0 + "<|im_end|>", addSpecialTokens: false) } ?? []
        return VisionPrompt(ids: prompt + answerIDs, imagePositions: head.count..<(head.count + image.count), answerStart: prompt.count)
    }
}
