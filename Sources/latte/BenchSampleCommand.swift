import ArgumentParser
import LatteBenchmarks

/// `latte bench sample`: SampleBenchmark's flags (K expert groups against the vanilla model, PyTorch
/// eager beside them when Python has torch), its lines or JSON.
struct BenchSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Sampling speed: K expert groups against the vanilla model (all layers every step).")

    @Option(help: "Expert groups K.") var groups = 5
    @Option(help: "Layers (the backbone's; SmolLM2 has 30).") var layers = 30
    @Option(help: "Generation width.") var width = 192
    @Option(help: "Sampling steps.") var steps = 40
    @Option(help: "Guidance (1 = none; otherwise a batch of two per image).") var guidance: Float = 3
    @Option(help: "Prompt tokens.") var promptLength = 12
    @Option(help: "Timed repetitions (best is reported).") var repeats = 3
    @Option(help: "Threads.") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Training batch for the training-throughput measurement.") var trainingBatch = 16
    @Flag(help: "Do not run the PyTorch eager comparison.") var noTorch = false
    @Option(help: "The PyTorch script (default: scripts/bench_sample_torch.py here or in the source tree).") var script: String?
    @Option(help: "Python interpreter for the PyTorch comparison.") var python = "python3"

    private var options: SampleBenchmark.Options {
        SampleBenchmark.Options(groups: groups, layers: layers, width: width, steps: steps, guidance: guidance,
                                promptLength: promptLength, repeats: repeats, threads: threads, trainingBatch: trainingBatch,
                                skipTorch: noTorch, script: script, python: python)
    }

    func validate() throws {
        try usageErrors { try options.validate() }
    }

    func run() throws {
        let result = try SampleBenchmark(options).run()
        print(json ? try result.json() : result.table)
    }
}
