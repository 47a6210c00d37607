import ArgumentParser
import LatteBenchmarks

/// `latte bench kernels`: KernelsBenchmark's flags, its table (printed row by row) or JSON.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "Vector-math throughput per kernel variant and flash attention against naive attention.")

    @Option(help: "Elements per vector-math call.")
    var length: Int = 1 << 16

    @Option(help: "Attention batch, heads, sequence length and head dim.")
    var attention: String = "1,12,256,64"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Also time the naive materialised attention (slow while Gemm is unoptimised).")
    var naive = true

    func run() throws {
        let options = try usageErrors {
            let options = KernelsBenchmark.Options(length: length, attention: try .init(parsing: attention), naive: naive)
            try options.validate()
            return options
        }
        if !json { print(KernelsBenchmark.vectorMathHeader(length: length)) }
        let result = try KernelsBenchmark(options).run(measured: { if !json { print($0.tableLine) } })
        print(json ? result.json : result.attention.table)
    }
}
