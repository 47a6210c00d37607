import ArgumentParser
import LatteKernels

struct BenchGemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "gemm", abstract: "GEMM throughput against OpenBLAS.")
    func run() throws { throw ValidationError("not yet implemented") }
}
