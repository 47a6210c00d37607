import ArgumentParser
import Foundation
import LatteFormats
import LatteKernels
import LatteModels
import LatteTokenizers

/// `latte chat`: streams a LLaMA-family or Qwen2-VL model's answer to a prompt (and, for Qwen2-VL, its
/// images) to standard output, and the speed to standard error. With `--image` and no `--model`, or a
/// `--model` folder holding vision weights (`vision.json`), the LatteFlow model's own vision path
/// answers (`VisionChat`: frozen encoder, trained projector, frozen SmolLM2).
struct ChatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Answer a prompt with a language model, streaming the text as it is generated.")

    @Option(name: .long, help: "A GGUF file, a Hugging Face folder (config.json, *.safetensors, tokenizer.json; LLaMA family or Qwen2-VL), a known name (smollm2), or a LatteFlow model folder with vision weights (vision.json). Without it, --image uses the default model folder (\(defaultModelFolder)).")
    var model: String?

    @Option(name: .long, help: "An image (PNG or JPEG) to ask about; may be repeated. Needs a Qwen2-VL folder, a Qwen2-VL GGUF with --mmproj, or a model folder with vision weights (the default model's, without --model).")
    var image: [String] = []

    @Option(name: .long, help: "llama.cpp's vision-projector GGUF (mmproj, architecture clip) for a Qwen2-VL language-model GGUF given as --model.")
    var mmproj: String?

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

    @Flag(name: .long, help: "Keep a GGUF's Q8_0/Q4_1 weights quantised in memory, or quantise a Qwen2-VL folder's language model at load (faster decoding, less memory; activations rounded to int8 in the dot products).")
    var quantized = false
    @Option(name: .long, help: "With --quantized, the format a Qwen2-VL folder's layers are quantised to: q8_0 or q4_1 (embedding/head Q8_0 either way).")
    var quantizedFormat: QuantizedFormat = .q8_0
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

    func run() throws {
        if model == nil && image.isEmpty {
            throw ValidationError("--model is needed for a text-only chat (e.g. --model smollm2); with --image the default model folder answers")
        }
        let chosen = model ?? defaultModelFolder
        let folder = URL(fileURLWithPath: (chosen as NSString).expandingTildeInPath)
        if VisionModelConfiguration.present(in: folder) {
            if raw || system != nil { throw ValidationError("--raw and --system are not supported by the vision path of \(chosen)") }
            if image.isEmpty { throw ValidationError("\(chosen) is a LatteFlow model folder: chat with it about an image (--image FILE), or give --model smollm2 for text") }
            if temperature != 0 { say("note: the vision path decodes greedily; --temperature is ignored") }
            return try VisionChat.load(folder: folder).answer(prompt, images: image, maxTokens: maxTokens)
        }
        if model == nil {
            throw CommandFailure("the default model folder \(defaultModelFolder) holds no vision weights (vision.json + vision.safetensors, written by `latte train-vision`): give --model with a Qwen2-VL folder, or a folder that has them (docs/vision.md)")
        }
        let projector = mmproj.map { URL(fileURLWithPath: ($0 as NSString).expandingTildeInPath) }
        let backbone = try Backbone.load(chosen, assets: .requirePresent, keepQuantized: quantized, quantizedFormat: quantizedFormat,
                                         mmproj: projector)
        if !image.isEmpty && !backbone.canSee {
            if backbone.model is Qwen2VLModel {
                throw ValidationError("--image with the Qwen2-VL GGUF '\(chosen)' needs its vision projector: --mmproj FILE (llama.cpp's mmproj GGUF)")
            }
            throw ValidationError("--image needs a vision-language model (a Qwen2-VL folder, a Qwen2-VL GGUF with --mmproj, or a LatteFlow folder with vision weights); '\(chosen)' is a text-only language model")
        }
        if raw && image.count > 1 { throw ValidationError("--raw takes one --image at most") }
        let pictures = try image.map { try ImageFile.read(($0 as NSString).expandingTildeInPath) }
        let chat: ChatPrompt
        if raw {
            chat = try backbone.rawPrompt(prompt, image: pictures.first)
        } else {
            var turns: [ChatPrompt.Turn] = []
            if let system { turns.append(.init(.system, system)) }
            turns.append(.init(.user, prompt, images: pictures))
            chat = try backbone.chatPrompt(turns)
        }
        guard !chat.ids.isEmpty else { throw ValidationError("the prompt encodes to no tokens") }

        let sampling = SamplingParameters(temperature: temperature, topK: topK, topP: topP, minP: minP,
                                          repetitionPenalty: repetitionPenalty, seed: seed)
        let generator = try TokenGenerator(model: backbone.languageModel, prompt: chat.ids, images: chat.images,
                                           parameters: GenerationParameters(maxTokens: maxTokens, sampling: sampling, stopTokens: chat.stopTokens))
        var detokenizer = StreamingDetokenizer(tokenizer: backbone.tokenizer)
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
            let note = chat.imageTokens > 0 ? " (\(chat.imageTokens) image tokens)" : ""
            FileHandle.standardError.write(Data(("prompt: \(s.promptTokens) tokens" + note + String(
                format: ", %.1f tokens/s; generated: %d tokens, %.1f tokens/s\n",
                s.promptTokensPerSecond, s.generatedTokens, s.generatedTokensPerSecond)).utf8))
        }
    }
}
