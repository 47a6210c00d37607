import ArgumentParser
import LatteBenchmarks

/// `latte bench transformer`: TransformerBenchmark's flags, its line or JSON (which
/// scripts/bench_transformer.py reads to print ratios against PyTorch eager).
struct BenchTransformerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transformer", abstract: "Pre-norm transformer forward and forward+backward time (fp32).")

    @Option(help: "Layers.") var layers = 12
    @Option(help: "Hidden width.") var hidden = 768
    @Option(help: "Attention heads.") var heads = 12
    @Option(help: "MLP width.") var mlp = 3072
    @Option(help: "Sequence length.") var sequence = 256
    @Option(help: "Timed repetitions (the best is reported).") var repeats = 5
    @Option(help: "Threads (default: LATTE_THREADS or all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let result = TransformerBenchmark(.init(layers: layers, hidden: hidden, heads: heads, mlp: mlp, sequence: sequence,
                                                repeats: repeats, threads: threads)).run()
        print(json ? try result.json() : result.table)
    }
}
