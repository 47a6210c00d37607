import Foundation
import LatteFormats
import LatteTokenizers

/// A conversation turned into what `TokenGenerator` takes: the prompt's token ids, its images (for a
/// vision-language backbone) and the ids that end the answer. `latte chat` and `latte serve` both build
/// their prompts here, so a question gets the same tokens from either.
public struct ChatPrompt {
    public var ids: [Int]
    public var images: Qwen2VLVisionInput?
    /// Generation ends before any of these (pass them as `GenerationParameters.stopTokens`).
    public var stopTokens: Set<Int>
    /// `<|image_pad|>` tokens in the prompt: one per merged vision patch, over all images.
    public var imageTokens: Int

    public init(ids: [Int], images: Qwen2VLVisionInput? = nil, stopTokens: Set<Int>, imageTokens: Int = 0) {
        (self.ids, self.images, self.stopTokens, self.imageTokens) = (ids, images, stopTokens, imageTokens)
    }

    /// One turn: its text and, for a backbone that sees, its images (Qwen2-VL's template puts a turn's
    /// images before its text).
    public struct Turn {
        public var role: ChatMessage.Role
        public var text: String
        public var images: [Image]

        public init(_ role: ChatMessage.Role, _ text: String, images: [Image] = []) {
            (self.role, self.text, self.images) = (role, text, images)
        }
    }
}

extension Backbone {
    /// Whether the backbone takes images (a Qwen2-VL model).
    public var canSee: Bool { (model as? Qwen2VLModel)?.hasVisionWeights == true }

    /// `turns` through the backbone's chat template, ending with the assistant's generation prompt:
    /// Qwen2-VL's template for a Qwen2-VL model (one `<|image_pad|>` per merged vision patch of each
    /// image); otherwise SmolLM2's (which adds its default system turn) when the tokenizer's own template
    /// is SmolLM2's, else plain ChatML. Images for a text-only backbone are an error.
    public func chatPrompt(_ turns: [ChatPrompt.Turn]) throws -> ChatPrompt {
        let images = turns.flatMap(\.images)
        guard let vlm = model as? Qwen2VLModel else {
            guard images.isEmpty else { throw BackboneError("\(location.path) is a text-only language model: it cannot take images (a Qwen2-VL folder can)") }
            let template = (tokenizer.chatTemplate ?? "").contains("SmolLM")
                ? ChatTemplate.smolLM2 : ChatTemplate(defaultSystemPrompt: nil, supportsImages: false)
            let ids = try tokenizer.encodeChat(turns.map { ChatMessage($0.role, $0.text) }, template: template)
            return ChatPrompt(ids: ids, stopTokens: stopTokens(["<|im_end|>"]))
        }
        let (vision, pads) = try visionInput(vlm, images)
        var next = 0
        let messages = turns.map { turn -> ChatMessage in
            let parts: [ChatMessage.Part] = turn.images.map { _ in defer { next += 1 }; return .image(padTokens: pads[next]) }
            return ChatMessage(turn.role, parts: parts + [.text(turn.text)])
        }
        return ChatPrompt(ids: try tokenizer.encodeChat(messages, template: .qwen2VL), images: vision,
                          stopTokens: stopTokens(["<|im_end|>", "<|endoftext|>"]), imageTokens: pads.reduce(0, +))
    }

    /// `text` to continue as is, without the chat template; an image (Qwen2-VL only) goes before it as
    /// `<|vision_start|>` + its pads + `<|vision_end|>`. A text-only model stops only at its end-of-sequence
    /// token here; Qwen2-VL also at its ChatML end markers, as in a chat.
    public func rawPrompt(_ text: String, image: Image? = nil) throws -> ChatPrompt {
        guard let vlm = model as? Qwen2VLModel else {
            guard image == nil else { throw BackboneError("\(location.path) is a text-only language model: it cannot take images (a Qwen2-VL folder can)") }
            return ChatPrompt(ids: tokenizer.encode(text, addSpecialTokens: false), stopTokens: stopTokens([]))
        }
        let (vision, pads) = try visionInput(vlm, image.map { [$0] } ?? [])
        let placeholder = vision == nil ? "" : ChatTemplate.visionStart + String(repeating: ChatTemplate.imagePad, count: pads[0]) + ChatTemplate.visionEnd
        return ChatPrompt(ids: tokenizer.encode(placeholder + text, addSpecialTokens: false), images: vision,
                          stopTokens: stopTokens(["<|im_end|>", "<|endoftext|>"]), imageTokens: pads.reduce(0, +))
    }

    /// The tokenizer's end-of-sequence id and those of `markers` it has.
    private func stopTokens(_ markers: [String]) -> Set<Int> {
        var stops = Set<Int>()
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        for marker in markers { if let id = tokenizer.tokenToID(marker) { stops.insert(id) } }
        return stops
    }

    /// Qwen2-VL's vision input for `images` (nil for none) and each image's pad count, after checking that
    /// the tokenizer's vision tokens are the ids config.json names (else the images would land elsewhere).
    private func visionInput(_ vlm: Qwen2VLModel, _ images: [Image]) throws -> (Qwen2VLVisionInput?, [Int]) {
        let c = vlm.configuration
        for (text, id) in [(ChatTemplate.imagePad, c.imageTokenID), (ChatTemplate.visionStart, c.visionStartTokenID), (ChatTemplate.visionEnd, c.visionEndTokenID)] {
            guard tokenizer.tokenToID(text) == id else {
                throw BackboneError("\(location.appendingPathComponent("tokenizer.json").path): \(text) is token \(tokenizer.tokenToID(text).map(String.init) ?? "absent"), config.json says \(id)")
            }
        }
        guard !images.isEmpty else { return (nil, []) }
        // A folder's own preprocessor_config.json; a GGUF gets the defaults, which are Qwen2-VL's.
        let url = location.appendingPathComponent("preprocessor_config.json")
        let processor = FileManager.default.fileExists(atPath: url.path) ? try Qwen2VLImageProcessor(preprocessorConfig: url) : Qwen2VLImageProcessor()
        let input = try processor(images)
        return (input, input.grids.map { $0.mergedTokenCount(mergeSize: c.vision.spatialMergeSize) })
    }
}
