/// One turn of a conversation.
public struct ChatMessage {
    public enum Role: String { case system, user, assistant }

    public enum Part {
        case text(String)
        /// An image: rendered as `<|vision_start|>`, `padTokens` × `<|image_pad|>`, `<|vision_end|>`
        /// (Qwen2-VL's processor expands one pad per merged vision patch).
        case image(padTokens: Int)
    }

    public var role: Role
    public var parts: [Part]

    public init(_ role: Role, _ text: String) {
        self.role = role
        self.parts = [.text(text)]
    }

    public init(_ role: Role, parts: [Part]) {
        self.role = role
        self.parts = parts
    }
}

/// ChatML prompts as SmolLM2's and Qwen2-VL's Jinja templates render them:
/// `<|im_start|>{role}\n{content}<|im_end|>\n` per turn, a default system turn when the conversation does
/// not start with one, and `<|im_start|>assistant\n` when a generation prompt is asked for.
public struct ChatTemplate {
    public var defaultSystemPrompt: String?
    public var supportsImages: Bool

    public init(defaultSystemPrompt: String?, supportsImages: Bool) {
        self.defaultSystemPrompt = defaultSystemPrompt
        self.supportsImages = supportsImages
    }

    /// SmolLM2-Instruct's template (the GGUF's `tokenizer.chat_template`).
    public static let smolLM2 = ChatTemplate(
        defaultSystemPrompt: "You are a helpful AI assistant named SmolLM, trained by Hugging Face", supportsImages: false)

    /// Qwen2-VL-Instruct's template.
    public static let qwen2VL = ChatTemplate(defaultSystemPrompt: "You are a helpful assistant.", supportsImages: true)

    public static let visionStart = "<|vision_start|>"
    public static let imagePad = "<|image_pad|>"
    public static let visionEnd = "<|vision_end|>"

    public func render(_ messages: [ChatMessage], addGenerationPrompt: Bool) throws -> String {
        var out = ""
        if let system = defaultSystemPrompt, messages.first?.role != .system {
            out += "<|im_start|>system\n\(system)<|im_end|>\n"
        }
        for (i, m) in messages.enumerated() {
            out += "<|im_start|>\(m.role.rawValue)\n"
            for part in m.parts {
                switch part {
                case .text(let t): out += t
                case .image(let n):
                    guard supportsImages else {
                        throw TokenizerError(file: "chat template", "message \(i) holds an image but this template is text-only")
                    }
                    guard n > 0 && n <= 1 << 20 else {
                        throw TokenizerError(file: "chat template", "message \(i): image pad count \(n) is not in 1...\(1 << 20)")
                    }
                    out += ChatTemplate.visionStart
                    out += String(repeating: ChatTemplate.imagePad, count: n)
                    out += ChatTemplate.visionEnd
                }
            }
            out += "<|im_end|>\n"
        }
        if addGenerationPrompt { out += "<|im_start|>assistant\n" }
        return out
    }
}

extension Tokenizer {
    /// Token ids of a rendered conversation; the ChatML markers are special tokens matched in the text,
    /// and no other special tokens are added.
    public func encodeChat(_ messages: [ChatMessage], template: ChatTemplate, addGenerationPrompt: Bool = true) throws -> [Int] {
        encode(try template.render(messages, addGenerationPrompt: addGenerationPrompt), addSpecialTokens: false)
    }
}
