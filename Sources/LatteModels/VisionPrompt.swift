import LatteTokenizers

/// The token layout the vision path trains and answers with (ChatML without a system turn):
///
///     <|im_start|>user\n [image tokens] \n QUESTION <|im_end|>\n<|im_start|>assistant\n ANSWER <|im_end|>
///
/// Each image is a block of `tokensPerImage` placeholder ids (their rows are replaced by the projector's
/// output, so the id itself is never read) directly after the user marker, images one after another.
/// No system turn: every prompt token is computed for every training sample, and SmolLM2's default
/// system text would double the sequence.
///
/// A training sample may hold several turns about the same image (`build(tokenizer:turns:…)`): the first
/// turn is exactly the one-question layout above (the layout answering and evaluation use), each later
/// turn follows as `\n<|im_start|>user\nQUESTION<|im_end|>\n<|im_start|>assistant\nANSWER<|im_end|>`,
/// and the loss covers every turn's answer. The image block and the prompt head are then computed once
/// for several answers.
public struct VisionPrompt: Equatable, Sendable {
    /// Prompt ids (then the answer's, when one was given).
    public var ids: [Int]
    /// Positions of the image placeholders, one contiguous block for all images.
    public var imagePositions: Range<Int>
    /// Index in `ids` where the answer starts (ids.count when there is none): the loss covers
    /// ids[answerStart...], the answer and its closing `<|im_end|>`.
    public var answerStart: Int
    /// Several turns only: every turn's answer span (with its `<|im_end|>`), the first starting at
    /// `answerStart`; nil for one turn, whose answer runs to the end of `ids`.
    public var turnAnswers: [Range<Int>]?

    public init(ids: [Int], imagePositions: Range<Int>, answerStart: Int, turnAnswers: [Range<Int>]? = nil) {
        (self.ids, self.imagePositions, self.answerStart, self.turnAnswers) = (ids, imagePositions, answerStart, turnAnswers)
    }

    /// The spans the loss covers: each answer and its closing `<|im_end|>`.
    public var answerRanges: [Range<Int>] { turnAnswers ?? [answerStart..<ids.count] }

    /// One image, several question–answer turns (see the type's comment); one turn is `build(question:answer:)`.
    public static func build(tokenizer: Tokenizer, turns: [(question: String, answer: String)], tokensPerImage: Int) throws -> VisionPrompt {
        guard let first = turns.first else { throw BackboneError("a vision prompt needs at least one question") }
        var prompt = try build(tokenizer: tokenizer, question: first.question, answer: first.answer, tokensPerImage: tokensPerImage)
        if turns.count == 1 { return prompt }
        var spans = [prompt.answerStart..<prompt.ids.count]
        for turn in turns.dropFirst() {
            prompt.ids += tokenizer.encode("\n<|im_start|>user\n\(turn.question)<|im_end|>\n<|im_start|>assistant\n", addSpecialTokens: false)
            let start = prompt.ids.count
            prompt.ids += tokenizer.encode(turn.answer + "<|im_end|>", addSpecialTokens: false)
            spans.append(start..<prompt.ids.count)
        }
        prompt.turnAnswers = spans
        return prompt
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
