import Foundation
import LatteKernels
import LatteNN
import LatteTensor
import XCTest
@testable import LatteFlow

/// The generator's sharded step (`GeneratorTrainer.useShards`, `ShardedGradients`) in one process: one
/// shard is bit for bit the unsharded step (so runs that do not ask for shards are unchanged), and
/// several shards are the same training to rounding (the same loss, the same batch's gradient summed in
/// another order). Equality across ranks is `DistributedTrainingTests` (mpirun).
final class ShardedTrainingTests: XCTestCase {
    func trainer() throws -> GeneratorTrainer {
        let c = tinyConfiguration()
        return GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: 1),
                                settings: TrainingSettings(steps: 4, learningRate: 1e-3, warmupSteps: 2, seed: 7),
                                nullPrompt: randomPrompt(c, length: 1, seed: 9), data: SyntheticData(c))
    }

    func train(_ t: GeneratorTrainer) throws -> (losses: [Float], metrics: [[String: Float]], values: [Float]) {
        var losses: [Float] = [], metrics: [[String: Float]] = []
        try TrainingRun(trainer: t, options: .init(directory: nil, steps: 4)).run(onStep: { losses.append($0.loss); metrics.append($0.metrics) })
        return (losses, metrics, t.arena.values.toArray())
    }

    func testOneShardIsTheUnshardedStep() throws {
        let plain = try train(try trainer())
        let t = try trainer()
        try t.useShards(1, batchRows: 3, group: SingleProcessGroup())
        let sharded = try train(t)
        XCTAssertEqual(sharded.losses, plain.losses)
        XCTAssertEqual(sharded.metrics, plain.metrics)
        XCTAssertEqual(sharded.values, plain.values)
    }

    func testShardsTrainTheSameModelToRounding() throws {
        let plain = try train(try trainer())
        let t = try trainer()
        try t.useShards(3, batchRows: 3, group: SingleProcessGroup())
        let sharded = try train(t)
        for (a, b) in zip(sharded.losses, plain.losses) { XCTAssertEqual(a, b, accuracy: 1e-5 * max(1, abs(b))) }
        XCTAssertEqual(sharded.metrics.map { $0.keys.sorted() }, plain.metrics.map { $0.keys.sorted() })
        let worst = zip(sharded.values, plain.values).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-4, "parameters after 4 steps")
        XCTAssertThrowsError(try trainer().useShards(4, batchRows: 3, group: SingleProcessGroup()))
    }
}
