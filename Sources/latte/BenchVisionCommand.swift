import ArgumentParser
import Foundation
import LatteBenchmarks

/// `latte bench vision`: `VisionTowerBenchmark`, seconds per image of a random Qwen2-VL-2B vision tower.
struct BenchVisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vision", abstract: "Seconds per image of a random Qwen2-VL-2B vision tower at square sizes.")

    @Option(help: "Square image sides in pixels, comma-separated (multiples of 28).") var sizes = "448,896"
    @Option(help: "Thread counts to measure, comma-separated.") var threads = "1"
    @Option(help: "Timed repetitions per size (the best is reported).") var repeats = 1
    @Flag(help: "Keep the weights bf16 (as the checkpoint does) instead of f32.") var bf16 = false
    @Flag(help: "The tiny tower (1 block, width 64): the same code paths, seconds instead of minutes.") var tiny = false
    @Flag(help: "Print one JSON object.") var json = false

    private static func list(_ s: String) -> [Int] { s.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard !Self.list(sizes).isEmpty else { throw ValidationError("--sizes must be integers separated by commas, got '\(sizes)'") }
        guard !Self.list(threads).isEmpty, Self.list(threads).allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--threads must be positive integers separated by commas, got '\(threads)'")
        }
        guard repeats > 0 else { throw ValidationError("--repeats must be > 0, got \(repeats)") }
    }

    func run() throws {
        var o = VisionTowerBenchmark.Options()
        o.sizes = Self.list(sizes); o.threadCounts = Self.list(threads); o.repeats = repeats; o.bf16 = bf16; o.tiny = tiny
        let result = try usageErrors { try VisionTowerBenchmark(o).run() }
        print(json ? try result.json() : result.table)
    }
}
