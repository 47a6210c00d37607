import ArgumentParser
import Foundation
import LatteBenchmarks

/// `latte bench lm`: `LanguageModelBenchmark` (prefill and decode tokens/s, CPU ms per token, peak
/// memory). `--quantized` measures the weights-kept-quantised mode; run it as its own process, since
/// peak memory is per process.
struct BenchLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm", abstract: "Language-model prefill and decode tokens/s, peak memory.")

    @Option(help: "A GGUF file, a Hugging Face folder or a known name (smollm2).") var model = "smollm2"
    @Option(help: "Prompt tokens processed in one batch.") var promptTokens = 256
    @Option(help: "Tokens decoded one at a time after the prompt.") var decodeTokens = 64
    @Option(help: "Thread counts to measure, comma-separated.") var threads = "1,2"
    @Option(help: "Timed repetitions of prefill (the best is reported).") var repeats = 2
    @Flag(help: "Keep a GGUF's Q8_0/Q4_1 weights quantised in memory (dequantised inside the products).")
    var quantized = false
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
        o.threadCounts = threadCounts; o.repeats = repeats; o.quantized = quantized
        let result = try usageErrors { try LanguageModelBenchmark(o).run() }
        print(json ? try result.json() : result.table)
    }
}
