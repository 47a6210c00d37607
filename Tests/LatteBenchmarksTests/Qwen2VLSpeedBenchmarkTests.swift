// The Qwen2-VL speed benchmarks on their tiny models: every weight format runs, the bandwidth limit is
// derived from the weights' real byte count, and the vision tower's sizes are checked.
import XCTest
@testable import LatteBenchmarks
import LatteKernels

final class Qwen2VLSpeedBenchmarkTests: XCTestCase {
    func testLanguageModelBenchmarkRunsEveryWeightFormatWithABandwidthLimit() throws {
        var bytes: [RandomQwen2VL.Weights: Int] = [:]
        for weights in RandomQwen2VL.Weights.allCases {
            var o = LanguageModelBenchmark.Options()
            o.model = "qwen2-vl-tiny-random"; o.randomWeights = weights
            o.promptTokens = 8; o.decodeTokens = 2; o.threadCounts = [1]; o.repeats = 1
            let r = try LanguageModelBenchmark(o).run()
            let row = try XCTUnwrap(r.rows.first)
            XCTAssertGreaterThan(row.decodeTokensPerSecond, 0)
            XCTAssertGreaterThan(try XCTUnwrap(row.readBytesPerSecond), 1e8, "a streaming read below 0.1 GB/s is a broken measurement")
            let limit = try XCTUnwrap(r.decodeLimit(row))
            XCTAssertEqual(limit, row.readBytesPerSecond! / Double(r.decodeWeightBytes!), accuracy: 1e-9 * limit)
            XCTAssertTrue(r.table.contains("bandwidth limit"), r.table)
            XCTAssertTrue(try r.json().contains("\"weights\":\"\(weights.rawValue)\""))
            bytes[weights] = r.decodeWeightBytes
        }
        // f32 → bf16 halves every tensor; Q8_0 is 34/32 bytes a weight, Q4_1 layers 20/32.
        XCTAssertEqual(bytes[.bf16]! * 2, bytes[.f32]!)
        XCTAssertLessThan(bytes[.q8_0]!, bytes[.bf16]!)
        XCTAssertLessThan(bytes[.q4_1]!, bytes[.q8_0]!)
    }

    func testVisionBenchmarkRunsTheTinyTowerAndRejectsOddSizes() throws {
        var o = VisionTowerBenchmark.Options()
        o.tiny = true; o.sizes = [56, 112]
        let r = try VisionTowerBenchmark(o).run()
        XCTAssertEqual(r.rows.map(\.patches), [16, 64])
        XCTAssertTrue(r.rows.allSatisfy { $0.seconds > 0 && $0.gflops > 0 })
        o.sizes = [100]
        XCTAssertThrowsError(try VisionTowerBenchmark(o).run()) {
            XCTAssertTrue("\($0)".contains("multiples of 28"), "\($0)")
        }
    }
}
