import ArgumentParser
import Foundation
import LatteBenchmarks

/// `latte bench train`: TrainBenchmark's flags (the paper's or the default model's geometry, batch
/// sizes, prompt length), its lines or JSON.
struct BenchTrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Training cost: seconds and peak memory per sample of one expert step (forward + backward + AdamW).",
        discussion: """
            paper: Qwen2-VL-2B's geometry (28 layers, width 1536, 12/2 heads of 128, MLP 8960, K = 4 × 7) on DC-AE \
            f32c32 latents at 256² (8×8 tokens of 32 channels); small: the embedded default model's. Random weights and \
            prompt caches; the backbone's prefill (once per prompt) is not part of a step. paper needs ≈ 16 GB of RAM, + 0.17 GB per sample of the largest batch.
            """)

    @Option(help: "Geometry: paper or small.") var config = "paper"
    @Option(help: "Batch sizes, comma-separated.") var batch = "1,4,8"
    @Option(help: "Prompt tokens per row.") var promptLength = 24
    @Option(help: "The expert group that steps.") var group = 0
    @Option(help: "Timed steps per batch size after one warm-up (best is reported).") var repeats = 2
    @Option(help: "Threads.") var threads: Int?
    @Flag(help: "With paper: skip timing the DC-AE f32c32 encoding of a 256² image (the latent cache's cost).") var noEncode = false
    @Option(help: "Images per DC-AE encode call.") var encodeBatch = 1
    @Flag(help: "Print one JSON object.") var json = false

    private var options: TrainBenchmark.Options {
        get throws {
            let geometry = try TrainBenchmark.Geometry(parsing: config)
            let sizes = try TrainBenchmark.batchSizes(parsing: batch)
            return TrainBenchmark.Options(geometry: geometry, batchSizes: sizes, promptLength: promptLength, group: group,
                                          repeats: repeats, threads: threads, encode: geometry == .paper && !noEncode, encodeBatch: encodeBatch)
        }
    }

    func validate() throws {
        try usageErrors { try options.validate() }
    }

    func run() throws {
        let result = try TrainBenchmark(try options).run { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
        print(json ? try result.json() : result.table)
    }
}
