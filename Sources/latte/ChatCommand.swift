import ArgumentParser
import Foundation
import LatteFormats
import LatteModels
import LatteTokenizers

/// `latte chat`: streams a LLaMA-family or Qwen2-VL model's answer to a prompt (and, for Qwen2-VL, an
/// image) to standard output, and the speed to standard error.
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Answer a prompt with a language model, streaming the text as it is generated.")

    @Option(name: .long, help: "A GGUF file, a Hugging Face folder (config.json, *.safetensors, tokenizer.json; LLaMA family or Qwen2-VL), or a known name (smollm2).")
    var model: String

    @Option(name: .long, help: "An image (PNG or JPEG) to ask about; needs a Qwen2-VL model folder.")
    var image: String?

    @Option(name: .long, help: "The user message (with --raw: the exact text to continue).")
    var prompt: String

    @Option(name: .long, help: "System message (default: the model's own, if its template has one).")
    var system: String?

    @Option(name: .long, help: "Most tokens to generate.")
    var maxTokens = 256

    @Option(name: .long, help: "Sampling temperature; 0 is greedy.")
    var temperature: Float = 0

    @Option(name: .long, help: "Keep the k most likely tokens (0: all).")
    var topK = 0

    @Option(name: .long, help: "Nucleus sampling threshold (1: off).")
    var topP: Float = 1

    @Option(name: .long, help: "Drop tokens below this fraction of the top token's probability (0: off).")
    var minP: Float = 0

    @Option(name: .long, help: "Penalty on tokens already seen (1: off).")
    var repetitionPenalty: Float = 1

    @Option(name: .long, help: "Random seed for sampling.")
    var seed: UInt64 = 0

    @Flag(name: .long, help: "Continue the prompt text as is, without the chat template.")
    var raw = false

    @Flag(name: .long, help: "Keep a GGUF's Q8_0/Q4_1 weights quantised in memory (faster decoding, less memory; activations rounded to int8 in the dot products).")
    var quantized = false
    @Flag(name: .long, help: "Do not print the speed to standard error.")
    var quiet = false

    func validate() throws {
        guard maxTokens >= 0 else { throw ValidationError("--max-tokens must be ≥ 0, got \(maxTokens)") }
        guard temperature >= 0, temperature.isFinite else { throw ValidationError("--temperature must be ≥ 0, got \(temperature)") }
        guard topK >= 0 else { throw ValidationError("--top-k must be ≥ 0, got \(topK)") }
        guard topP > 0, topP <= 1 else { throw ValidationError("--top-p must be in (0, 1], got \(topP)") }
        guard minP >= 0, minP < 1 else { throw ValidationError("--min-p must be in [0, 1), got \(minP)") }
        guard repetitionPenalty > 0 else { throw ValidationError("--repetition-penalty must be > 0, got \(repetitionPenalty)") }
    }

    /// What the model family adds to the chat: the prompt's ids, its images, the ids that end a turn.
    private struct Prompt {
        var ids: [Int]
        var images: Qwen2VLVisionInput? = nil
        var stops: Set<Int>
        var note = ""
    }

    func run() throws {
        let backbone = try Backbone.load(model, assets: .requirePresent, keepQuantized: quantized)
        let tokenizer = backbone.tokenizer
        let chat: Prompt
        if let vlm = backbone.model as? Qwen2VLModel {
            chat = try qwen2VLPrompt(vlm, folder: backbone.location, tokenizer: tokenizer)
        } else {
            if image != nil {
                throw ValidationError("--image needs a vision-language model (a Qwen2-VL folder); '\(model)' is a text-only language model")
            }
            chat = try textPrompt(tokenizer)
        }
        guard !chat.ids.isEmpty else { throw ValidationError("the prompt encodes to no tokens") }

        let sampling = SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                          repetitionPenalty: repetitionPenalty, seed: seed)
        let generator = try TokenGenerator(model: backbone.languageModel, prompt: chat.ids, images: chat.images,
                                           parameters: GenerationParameters(maxTokens: maxTokens, sampling: sampling, stopTokens: chat.stops))
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        let out = FileHandle.standardOutput
        do {
            while let id = try generator.next() {
                let text = detokenizer.push(id)
                if !text.isEmpty { out.write(Data(text.utf8)) }
            }
        } catch {
            // What was generated stays printed; the error follows it.
            out.write(Data((detokenizer.finish() + "\n").utf8))
            throw error
        }
        out.write(Data((detokenizer.finish() + "\n").utf8))
        if !quiet {
            let s = generator.statistics
            FileHandle.standardError.write(Data(("prompt: \(s.promptTokens) tokens" + chat.note + String(
                format: ", %.1f tokens/s; generated: %d tokens, %.1f tokens/s\n",
                s.promptTokensPerSecond, s.generatedTokens, s.generatedTokensPerSecond)).utf8))
        }
    }

    /// A text-only model: ChatML (SmolLM2's template adds its own default system message), or the raw text.
    private func textPrompt(_ tokenizer: Tokenizer) throws -> Prompt {
        var stops = Set<Int>()
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        if raw { return Prompt(ids: tokenizer.encode(prompt, addSpecialTokens: false), stops: stops) }
        let template = (tokenizer.chatTemplate ?? "").contains("SmolLM")
            ? ChatTemplate.smolLM2 : ChatTemplate(defaultSystemPrompt: nil, supportsImages: false)
        var messages: [ChatMessage] = []
        if let system { messages.append(ChatMessage(.system, system)) }
        messages.append(ChatMessage(.user, prompt))
        if let end = tokenizer.tokenToID("<|im_end|>") { stops.insert(end) }
        return Prompt(ids: try tokenizer.encodeChat(messages, template: template), stops: stops)
    }

    /// Qwen2-VL: the qwen2VL chat template with one `<|image_pad|>` per merged vision patch of the image.
    private func qwen2VLPrompt(_ vlm: Qwen2VLModel, folder: URL, tokenizer: Tokenizer) throws -> Prompt {
        let c = vlm.configuration
        let tokenizerURL = folder.appendingPathComponent("tokenizer.json")
        for (text, id) in [(ChatTemplate.imagePad, c.imageTokenID), (ChatTemplate.visionStart, c.visionStartTokenID), (ChatTemplate.visionEnd, c.visionEndTokenID)] {
            guard tokenizer.tokenToID(text) == id else {
                throw ValidationError("\(tokenizerURL.path): \(text) is token \(tokenizer.tokenToID(text).map(String.init) ?? "absent"), config.json says \(id)")
            }
        }
        var vision: Qwen2VLVisionInput?
        var pads = 0
        if let image {
            let processorURL = folder.appendingPathComponent("preprocessor_config.json")
            let processor = FileManager.default.fileExists(atPath: processorURL.path)
                ? try Qwen2VLImageProcessor(preprocessorConfig: processorURL) : Qwen2VLImageProcessor()
            let input = try processor([try ImageFile.read((image as NSString).expandingTildeInPath)])
            pads = input.grids[0].mergedTokenCount(mergeSize: c.vision.spatialMergeSize)
            vision = input
        }
        var stops = Set<Int>()
        if let eos = tokenizer.eosTokenID { stops.insert(eos) }
        for end in ["<|im_end|>", "<|endoftext|>"] { if let id = tokenizer.tokenToID(end) { stops.insert(id) } }
        let ids: [Int]
        if raw {
            let placeholder = vision == nil ? "" : ChatTemplate.visionStart + String(repeating: ChatTemplate.imagePad, count: pads) + ChatTemplate.visionEnd
            ids = tokenizer.encode(placeholder + prompt, addSpecialTokens: false)
        } else {
            var messages: [ChatMessage] = []
            if let system { messages.append(ChatMessage(.system, system)) }
            // Qwen2-VL's template puts the image before the question.
            messages.append(ChatMessage(.user, parts: (vision == nil ? [] : [.image(padTokens: pads)]) + [.text(prompt)]))
            ids = try tokenizer.encodeChat(messages, template: .qwen2VL)
        }
        return Prompt(ids: ids, images: vision, stops: stops, note: vision == nil ? "" : " (\(pads) image tokens)")
    }
}
