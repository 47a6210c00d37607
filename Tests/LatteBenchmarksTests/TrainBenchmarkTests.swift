import Foundation
import XCTest
import LatteFlow
@testable import LatteBenchmarks

/// `latte bench train`: the FLOP count against a hand count, a short real run of the small geometry
/// (two batch sizes, one timed step each), and the option errors.
final class TrainBenchmarkTests: XCTestCase {
    /// A tiny geometry counted by hand: N = 4 tokens, T = 3, d = 8, 2 query and 1 K/V heads of 4,
    /// m = 16, P = 2, F = 4 frequencies, M = 2 layers per group, input skip on.
    func testFLOPsFollowTheGeometry() {
        let c = GeneratorConfiguration(backbone: "t", layerCount: 4, kvHeads: 1, headDim: 4, width: 8, queryHeads: 2, mlpWidth: 16,
                                       groups: 2, latentChannels: 2, latentHeight: 2, latentWidth: 2, patchSize: 1,
                                       timestepFrequencies: 4, inputSkip: true)
        // Per matrix: timestep MLP 2·4·8 + 2·8·8, patch embedding 2·4·2·8; per layer adaLN 2·8·48, q and
        // o 2·4·8·8 each, k and v 2·4·8·4 each, scores and values 2·4·7·8 each, SwiGLU 3 × 2·4·8·16;
        // head adaLN 2·8·16, output and skip 2·4·8·2 each.
        let embeddings: Double = 64 + 128 + 128
        let layer: Double = 768 + (512 + 512 + 256 + 256) + (448 + 448) + 3 * 1024
        let head: Double = 256 + 128 + 128
        let flops = ExpertStepFLOPs(c, promptLength: 3)
        XCTAssertEqual(flops.forward, embeddings + 2 * layer + head)
        XCTAssertEqual(flops.training, 3 * flops.forward)
        // The paper's geometry: 42.4 GFLOP forward per sample per expert step (docs/training.md).
        let paper = ExpertStepFLOPs(TrainBenchmark.configuration(.paper), promptLength: 24)
        XCTAssertEqual(paper.forward / 1e9, 42.40, accuracy: 0.01)
        let p = TrainBenchmark.configuration(.paper)
        XCTAssertEqual([p.layerCount, p.groups, p.layersPerGroup, p.width, p.queryHeads, p.kvHeads, p.headDim, p.mlpWidth, p.tokenCount, p.latentChannels],
                       [28, 4, 7, 1536, 12, 2, 128, 8960, 64, 32])
    }

    func testASmallRunMeasuresEveryBatchSize() throws {
        let result = try TrainBenchmark(.init(geometry: .small, batchSizes: [1, 3], promptLength: 5, group: 4, repeats: 1, encode: false)).run()
        XCTAssertEqual(result.rows.map(\.batch), [1, 3])
        for r in result.rows {
            XCTAssertGreaterThan(r.stepSeconds, 0)
            XCTAssertGreaterThan(r.gradientSeconds, 0)
            XCTAssertLessThanOrEqual(r.gradientSeconds, r.stepSeconds)
            XCTAssertGreaterThan(r.stepCPUSeconds, 0)
            XCTAssertGreaterThan(r.peakResidentBytes, 0, "VmHWM is readable on Linux")
        }
        let c = result.configuration
        let model = try LayerwiseTimestepExperts(c, seed: 0)
        XCTAssertEqual(result.trainableParameters, model.layers[24..<30].map { $0.parameterCount() }.reduce(0, +) + model.heads[4].parameterCount(),
                       "only group 4's layers and head train")
        XCTAssertEqual(result.parameters, model.parameterCount())
        XCTAssertEqual(result.flops, ExpertStepFLOPs(c, promptLength: 5))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(try result.json().utf8)) as? [String: Any])
        XCTAssertEqual(json["geometry"] as? String, "small")
        XCTAssertEqual((json["batches"] as? [[String: Any]])?.count, 2)
        XCTAssertEqual(json["includes_backbone_prefill"] as? Bool, false)
        XCTAssertNil(json["encoding"])
        XCTAssertTrue(result.table.contains("prefill is not included"), result.table)
    }

    func testBadOptionsAreRefused() throws {
        XCTAssertEqual(try TrainBenchmark.batchSizes(parsing: "1, 4,8"), [1, 4, 8])
        for bad in ["", "1,,4", "0", "a", "2,-1"] {
            XCTAssertThrowsError(try TrainBenchmark.batchSizes(parsing: bad)) {
                XCTAssertEqual("\($0)", "--batch wants comma-separated positive integers, e.g. 1,4,8, got '\(bad)'")
            }
        }
        XCTAssertEqual(try TrainBenchmark.Geometry(parsing: "small"), .small)
        XCTAssertThrowsError(try TrainBenchmark.Geometry(parsing: "large")) { XCTAssertEqual("\($0)", "--config must be paper or small, got 'large'") }
        XCTAssertThrowsError(try TrainBenchmark.Options(geometry: .paper, group: 4).validate()) { XCTAssertTrue("\($0)".contains("0…3"), "\($0)") }
        XCTAssertThrowsError(try TrainBenchmark.Options(batchSizes: []).validate())
        XCTAssertThrowsError(try TrainBenchmark.Options(batchSizes: [2, 0]).validate())
        XCTAssertThrowsError(try TrainBenchmark.Options(repeats: 0).validate())
    }
}
