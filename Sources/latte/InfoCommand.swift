import ArgumentParser
import LatteKernels

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info", abstract: "Print CPU features, selected kernels, threads, and whether OpenBLAS and MPI (Open MPI, for --distributed) were found.")
    func run() { print(KernelInfo.summary + " | mpi: \(MPILibrary.summary)") }
}
