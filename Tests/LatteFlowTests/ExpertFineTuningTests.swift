import XCTest
import LatteFlow
import LatteNN
import LatteTensor

/// Training some experts only (`latte train --train-groups`): the other groups and the shared
/// embeddings must come out bit-for-bit unchanged, and every sampled time must belong to the groups.
final class ExpertFineTuningTests: XCTestCase {
    func testOnlyTheChosenGroupsLearn() throws {
        let c = tinyConfiguration(groups: 2)
        let model = try LayerwiseTimestepExperts(c, seed: 1)
        let before = model.parameterTensors().mapValues { $0.toArray() }
        try model.trainOnly(groups: [1])
        let (lower, upper) = try c.timeInterval(groups: [1])
        XCTAssertEqual(lower, 0.5); XCTAssertEqual(upper, 1)
        let settings = TrainingSettings(steps: 3, learningRate: 1e-2, warmupSteps: 0,
                                        timesteps: .uniformWithin(lower: lower, upper: upper), seed: 7)
        let trainer = GeneratorTrainer(model: model, settings: settings, nullPrompt: randomPrompt(c, length: 1, seed: 9), data: SyntheticData(c))
        var records: [TrainingLogRecord] = []
        try TrainingRun(trainer: trainer, options: .init(directory: nil, steps: 3)).run(onStep: { records.append($0) })
        XCTAssertEqual(records.count, 3)
        for r in records {
            XCTAssertNil(r.metrics["g0"], "a time of group 0 was drawn")
            XCTAssertNotNil(r.metrics["g1"])
        }
        var changed = Set<String>()
        for (key, value) in model.parameterTensors() where value.toArray() != before[key]! { changed.insert(key) }
        let group1 = model.layerRange(group: 1).map { "layers.\($0)." } + ["heads.1."]
        XCTAssertFalse(changed.isEmpty)
        for key in changed { XCTAssertTrue(group1.contains { key.hasPrefix($0) }, "\(key) changed but belongs to a frozen part") }
        XCTAssertTrue(changed.contains { $0.hasPrefix("heads.1.") }, "the trained group's head did not learn")
        XCTAssertEqual(model.parameterCount(trainableOnly: true),
                       model.namedParameters().filter { p in group1.contains { p.key.hasPrefix($0) } }.reduce(0) { $0 + $1.parameter.count })
    }

    func testGroupsAreCheckedAndMustBeContiguous() throws {
        let c = tinyConfiguration(groups: 2, layers: 6)
        let d = GeneratorConfiguration(backbone: "test", layerCount: 6, kvHeads: 2, headDim: 8, width: 16, queryHeads: 4, mlpWidth: 24,
                                       groups: 3, residualAttention: .preSoftmax, latentChannels: 2, latentHeight: 4, latentWidth: 4,
                                       patchSize: 2, ropeTheta: 100)
        XCTAssertThrowsError(try d.timeInterval(groups: [0, 2])) { XCTAssertTrue("\($0)".contains("not contiguous"), "\($0)") }
        XCTAssertEqual(try d.timeInterval(groups: [2, 1]).lower, 1.0 / 3, accuracy: 1e-6)
        XCTAssertThrowsError(try c.timeInterval(groups: [2])) { XCTAssertTrue("\($0)".contains("0…1"), "\($0)") }
        XCTAssertThrowsError(try LayerwiseTimestepExperts(c).trainOnly(groups: [5])) { XCTAssertTrue("\($0)".contains("group 5"), "\($0)") }
    }

    func testUniformWithinStaysInside() {
        var g = RandomGenerator(seed: 3)
        let d = TimestepDistribution.uniformWithin(lower: 0.6, upper: 1)
        let draws = (0..<2000).map { _ in d.sample(&g) }
        XCTAssertTrue(draws.allSatisfy { $0 >= 0.6 && $0 < 1 })
        // Spread over the interval, not piled at one end.
        XCTAssertEqual(draws.reduce(0, +) / Float(draws.count), 0.8, accuracy: 0.01)
    }
}
