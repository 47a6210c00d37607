import ArgumentParser
import LatteBenchmarks

/// `latte bench vae`: VAEBenchmark's flags, its table or JSON. Ratios are ours / diffusers in images/s
/// (> 1: LatteFlow is faster).
struct BenchVAECommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vae", abstract: "Autoencoder encode/decode images/s against diffusers on the same configs.")

    @Option(help: "A diffusers AutoencoderKL config.json for the small case (default: the Fashion-MNIST shape).")
    var smallConfig: String?
    @Option(help: "Batch of the small case.") var smallBatch = 64
    @Option(help: "Image side of the small case.") var smallSize = 32
    @Option(help: "Image side of the SD-VAE case.") var sdSize = 256
    @Option(help: "Batch of the SD-VAE case.") var sdBatch = 1
    @Flag(help: "Measure only the small case.") var skipSd = false
    @Flag(help: "Skip the single-conv2d rows (the SD-VAE decoder's and the small model's main 3×3 convs).") var skipConv = false
    @Option(help: "Timed repetitions after one warm-up (the best is reported).") var repeats = 2
    @Option(help: "Threads (default: LATTE_THREADS or all cores); diffusers gets the same.") var threads: Int?
    @Option(help: "The reference script; skipped when absent or Python lacks diffusers.")
    var script = "scripts/bench_vae_torch.py"
    @Option(help: "Python interpreter for the reference.") var python = "python3"
    @Flag(help: "Do not run the diffusers reference.") var skipTorch = false
    @Flag(help: "Print one JSON object.") var json = false

    private var options: VAEBenchmark.Options {
        VAEBenchmark.Options(smallBatch: smallBatch, smallSize: smallSize, sdSize: sdSize, sdBatch: sdBatch, skipSD: skipSd,
                             skipConv: skipConv, repeats: repeats, threads: threads, script: script, python: python,
                             skipTorch: skipTorch)
    }

    func validate() throws {
        try usageErrors { try options.validate() }
    }

    func run() throws {
        let result = try usageErrors {
            var options = options
            if let smallConfig { options.smallConfiguration = try VAEBenchmark.configuration(contentsOf: smallConfig) }
            return try VAEBenchmark(options).run()
        }
        print(json ? try result.json() : result.table)
    }
}
