import ArgumentParser
import LatteKernels

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Print CPU features and selected kernels.")
    func run() { print("cpu: \(CPUFeatures.current)") }
}
