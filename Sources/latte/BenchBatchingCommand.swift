import ArgumentParser
import LatteBenchmarks

/// `latte bench batching`: staggered image jobs served by cross-request batching (`ImageJobBatcher`)
/// against one at a time through the pipeline at batch 1, and the pipeline's batch-16/batch-1 bound.
struct BenchBatchingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batching", abstract: "Cross-request batching of image jobs against serving them one at a time.")

    @Option(help: "A LatteFlow model folder (model.json).") var model = "models/latteflow-fashion"
    @Option(help: "Jobs.") var jobs = 16
    @Option(help: "Images per job.") var count = 1
    @Option(help: "Seconds between job arrivals (default: a quarter of one job's time alone).") var stagger: Double?
    @Option(help: "Most rows in one network call.") var maxRows = 32
    @Option(help: "Sampling steps (default: the model's).") var steps: Int?
    @Option(help: "Threads.") var threads: Int?
    @Option(help: "Ticks a job may wait for its expert group to fill (0: every group runs every tick).") var patience = 0

    private var options: BatchingBenchmark.Options {
        BatchingBenchmark.Options(jobs: jobs, count: count, stagger: stagger, maxRows: maxRows, steps: steps, threads: threads, patience: patience)
    }

    func validate() throws {
        try usageErrors { try options.validate() }
    }

    func run() throws {
        let pipeline = try loadPipeline(model)
        print(try BatchingBenchmark(options).run(pipeline: pipeline, log: say).table)
    }
}
