import ArgumentParser
import LatteBenchmarks

/// `latte bench gemm`: GemmBenchmark's flags, its table or JSON.
struct BenchGemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "GEMM throughput against OpenBLAS measured in the same run.")

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    @Option(help: "Threads for both libraries (default: LATTE_THREADS or the processor count).")
    var threads: Int?

    @Option(help: "Timed runs per library and shape (alternating); the best one counts.")
    var repeats = 10

    @Option(help: "Comma-separated MxKxN shapes (default: the model shapes).")
    var shapes: String?

    @Flag(help: ArgumentHelp(
        "Time with process CPU time instead of wall time (for tuning on a busy machine; meaningful with --threads 1).",
        visibility: .hidden))
    var cpuTime = false

    @Flag(help: ArgumentHelp("Measure as if OpenBLAS were absent (checks the null output).", visibility: .hidden))
    var withoutOpenblas = false

    func validate() throws {
        try usageErrors { try GemmBenchmark.Options(threads: threads, repeats: repeats).validate() }
    }

    func run() throws {
        let list = try usageErrors { try shapes.map(GemmBenchmark.Shape.list(parsing:)) ?? GemmBenchmark.defaultShapes }
        let benchmark = GemmBenchmark(.init(shapes: list, threads: threads, repeats: repeats, cpuTime: cpuTime,
                                            withoutOpenBLAS: withoutOpenblas))
        // The table's rows also go to standard error as they finish: a full run takes minutes.
        let rows = benchmark.run(note: say, measured: { if !json { say($0.tableLine) } })
        print(json ? GemmBenchmark.json(rows) : GemmBenchmark.table(rows))
    }
}
