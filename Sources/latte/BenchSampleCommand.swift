import ArgumentParser
import Foundation
import LatteBenchmarks

/// `latte bench sample`: SampleBenchmark's flags (K expert groups against the vanilla model, PyTorch
/// eager beside them when Python has torch), its lines or JSON. `--config paper` runs
/// PaperSampleBenchmark instead: the paper's 2B geometry end to end (prefill, steps, decode).
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
    @Option(help: "small (SmolLM2 geometry, generator steps only) or paper (Qwen2-VL-2B + K = 4 × 7 generator + DC-AE f32c32 decoder, end to end).")
    var config = "small"
    @Option(help: "paper: comma-separated batch sizes.") var batch = "1,4"
    @Option(help: "paper: steps run for the vanilla model and the weight variants (extrapolated to --steps).") var shortSteps = 8
    @Option(help: "paper: steps run for the experts at batch sizes above 1 (extrapolated to --steps).") var batchedSteps: Int?
    @Flag(help: "paper: skip the bf16 and row-wise int8 generator variants.") var noVariants = false
    @Flag(help: "paper: also run scripts/bench_paper_torch.py (PyTorch eager, transformers, diffusers) after our side.") var torch = false
    @Flag(help: "paper: a scaled-down stand-in of the same code paths (checks, not figures).") var tiny = false

    private var options: SampleBenchmark.Options {
        SampleBenchmark.Options(groups: groups, layers: layers, width: width, steps: steps, guidance: guidance,
                                promptLength: promptLength, repeats: repeats, threads: threads, trainingBatch: trainingBatch,
                                skipTorch: noTorch, script: script, python: python)
    }

    private func paperOptions() throws -> PaperSampleBenchmark.Options {
        PaperSampleBenchmark.Options(batchSizes: try TrainBenchmark.batchSizes(parsing: batch), steps: steps, guidance: guidance,
                                     promptLength: promptLength, shortSteps: shortSteps, batchedSteps: batchedSteps ?? steps,
                                     threads: threads, weightVariants: !noVariants, torch: torch, script: script, python: python, tiny: tiny)
    }

    func validate() throws {
        switch config {
        case "small": try usageErrors { try options.validate() }
        case "paper": try usageErrors { try paperOptions().validate() }
        default: throw ValidationError("--config must be small or paper, got '\(config)'")
        }
    }

    func run() throws {
        if config == "paper" {
            let result = try PaperSampleBenchmark(try paperOptions()).run(report: { FileHandle.standardError.write(Data(("… " + $0 + "\n").utf8)) })
            print(json ? try result.json() : result.table)
            return
        }
        let result = try SampleBenchmark(options).run()
        print(json ? try result.json() : result.table)
    }
}
