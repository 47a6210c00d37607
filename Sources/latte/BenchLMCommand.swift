import ArgumentParser
import Foundation
import LatteBenchmarks
import LatteKernels

/// `latte bench lm`: `LanguageModelBenchmark` (prefill and decode tokens/s, CPU ms per token, peak
/// memory). `--quantized` measures the weights-kept-quantised mode; run it as its own process, since
/// peak memory is per process.
struct BenchLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm", abstract: "Language-model prefill and decode tokens/s, peak memory.")

    @Option(help: "A GGUF file, a Hugging Face folder, a known name (smollm2), or a random Qwen2-VL: qwen2-vl-2b-random (28 layers, width 1536) or qwen2-vl-tiny-random.") var model = "smollm2"
    @Option(help: "Prompt tokens processed in one batch.") var promptTokens = 256
    @Option(help: "Tokens decoded one at a time after the prompt.") var decodeTokens = 64
    @Option(help: "Thread counts to measure, comma-separated.") var threads = "1,2"
    @Option(help: "Timed repetitions of prefill (the best is reported).") var repeats = 2
    @Flag(help: "Keep a GGUF's Q8_0/Q4_1 weights quantised in memory, or quantise a Qwen2-VL folder's language model at load (dequantised inside the products).")
    var quantized = false
    @Option(help: "With --quantized, the format a Qwen2-VL folder's layers are quantised to: q8_0 or q4_1 (embedding/head Q8_0).")
    var quantizedFormat: QuantizedFormat = .q8_0
    @Option(help: "Weights of a random Qwen2-VL model (--model qwen2-vl-2b-random): f32, bf16, q8_0 or q4_1 (Q8_0 embedding/head).")
    var weights: RandomQwen2VL.Weights = .f32
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard promptTokens > 0 else { throw ValidationError("--prompt-tokens must be > 0, got \(promptTokens)") }
        guard decodeTokens > 0 else { throw ValidationError("--decode-tokens must be > 0, got \(decodeTokens)") }
        guard repeats > 0 else { throw ValidationError("--repeats must be > 0, got \(repeats)") }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--threads must be positive integers separated by commas, got '\(threads)'")
        }
    }

    private var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        var o = LanguageModelBenchmark.Options()
        o.model = model; o.promptTokens = promptTokens; o.decodeTokens = decodeTokens
        o.threadCounts = threadCounts; o.repeats = repeats; o.quantized = quantized; o.quantizedFormat = quantizedFormat
        o.randomWeights = weights
        let result = try usageErrors { try LanguageModelBenchmark(o).run() }
        print(json ? try result.json() : result.table)
    }
}

extension RandomQwen2VL.Weights: ExpressibleByArgument {}
