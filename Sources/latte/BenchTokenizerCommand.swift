import ArgumentParser
import LatteBenchmarks

/// `latte bench tokenizer`: TokenizerBenchmark's flags; our lines, then HF `tokenizers`' lines once its
/// script has run.
struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Tokenizer load time and encode throughput against HF tokenizers.")

    @Option(name: .long, help: "A tokenizer.json or GGUF file (default: the SmolLM2 GGUF in $LATTE_HOME).")
    var tokenizer: String?

    @Option(name: .long, help: "Text file to encode (default: a generated mixed text of --megabytes).")
    var text: String?

    @Option(name: .long, help: "Size of the generated text in MB.")
    var megabytes: Double = 1

    @Option(name: .long, help: "The reference script; skipped when absent or Python lacks `tokenizers`.")
    var script: String = "scripts/bench_tokenizers.py"

    @Option(name: .long, help: "Python interpreter for the reference.")
    var python: String = "python3"

    func run() throws {
        let benchmark = TokenizerBenchmark(.init(tokenizer: tokenizer, text: text, megabytes: megabytes, script: script, python: python))
        let ours = try usageErrors { try benchmark.measure() }
        print(ours.table)
        print(benchmark.reference(for: ours).table(comparedWith: ours))
    }
}
