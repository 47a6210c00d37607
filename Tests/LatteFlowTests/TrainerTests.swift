import XCTest
import LatteFlow
import LatteNN
import LatteTensor

/// Deterministic synthetic data: batch i is drawn from (seed, i); four prompts of different lengths cycle.
struct SyntheticData: GeneratorTrainingData {
    let configuration: GeneratorConfiguration
    let prompts: [PromptCache]
    var position = 0
    var poisonAt: Set<Int> = []

    init(_ c: GeneratorConfiguration) {
        configuration = c
        prompts = (0..<4).map { randomPrompt(c, length: 2 + $0, seed: UInt64(100 + $0)) }
    }

    mutating func next() throws -> (latents: Tensor, prompts: [PromptCache]) {
        defer { position += 1 }
        var x = Tensor.randomNormal([3, configuration.latentChannels, configuration.latentHeight, configuration.latentWidth], seed: UInt64(1000 + position))
        if poisonAt.contains(position) { x = x * Float.nan }
        return (x, (0..<3).map { prompts[($0 + position) % 4] })
    }

    func savedState() throws -> String { "\(position)" }
    mutating func restore(_ state: String) throws {
        guard let p = Int(state) else { throw TrainingError(message: "bad data state \(state)") }
        position = p
    }
}

/// The generator's step in the one training loop (`TrainingRun`): exact resume, the non-finite guard,
/// the log's per-group columns, and the per-row prompt caches giving the losses of a stacked batch.
final class TrainerTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func trainer(steps: Int, modelSeed: UInt64 = 1, data: SyntheticData? = nil) throws -> GeneratorTrainer {
        let c = tinyConfiguration()
        return GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: modelSeed),
                                settings: TrainingSettings(steps: steps, learningRate: 1e-3, warmupSteps: 2, seed: 7),
                                nullPrompt: randomPrompt(c, length: 1, seed: 9), data: data ?? SyntheticData(c))
    }

    func losses(_ run: TrainingRun) throws -> [Float] {
        var out: [Float] = []
        try run.run(onStep: { out.append($0.loss) })
        return out
    }

    /// A run stopped after its step-3 checkpoint and resumed into fresh objects (another initial seed,
    /// which the checkpoint overrides) continues with exactly the losses of an uninterrupted run.
    func testResumedRunRepeatsTheUninterruptedLosses() throws {
        let full = try losses(try TrainingRun(trainer: try trainer(steps: 6), options: .init(directory: dir.appendingPathComponent("a"), steps: 6, checkpointEvery: 3)))
        XCTAssertEqual(full.count, 6)
        let b = dir.appendingPathComponent("b")
        let first = try losses(try TrainingRun(trainer: try trainer(steps: 6), options: .init(directory: b, steps: 6, stopAfter: 3, checkpointEvery: 3)))
        let resumed = try TrainingRun(trainer: try trainer(steps: 6, modelSeed: 99), options: .init(directory: b, steps: 6, checkpointEvery: 3))
        XCTAssertEqual(resumed.step, 3)
        XCTAssertEqual(first + (try losses(resumed)), full)
    }

    func testNonFiniteStepsAreSkippedThenStopTheRun() throws {
        var data = SyntheticData(tinyConfiguration())
        data.poisonAt = [1, 4, 5]
        let run = try TrainingRun(trainer: try trainer(steps: 10, data: data),
                                  options: .init(directory: dir.appendingPathComponent("c"), steps: 10, checkpointEvery: 3, maxNonFiniteSteps: 2))
        var applied: [Bool] = []
        XCTAssertThrowsError(try run.run(onStep: { applied.append($0.applied) })) { XCTAssertTrue("\($0)".contains("non-finite"), "\($0)") }
        XCTAssertEqual(applied, [true, false, true, true, false])
        // The step-3 checkpoint survives and holds finite weights.
        let restored = try LayerwiseTimestepExperts(tinyConfiguration(), seed: 5)
        let extra = try Checkpoint.load(model: restored, from: run.checkpointURL!)
        XCTAssertEqual(extra["step"], "3")
        XCTAssertTrue(restored.namedParameters().allSatisfy { $0.parameter.value.toArray().allSatisfy(\.isFinite) })
    }

    func testLogHasOneLinePerStepWithTheGroupsLosses() throws {
        let run = try TrainingRun(trainer: try trainer(steps: 3), options: .init(directory: dir, steps: 3))
        try run.run()
        let lines = try TrainingLog.records(in: run.logURL!)
        XCTAssertEqual(lines.count, 3)
        let first = lines[0]
        XCTAssertEqual(first.step, 1)
        XCTAssertFalse(first.metrics.isEmpty)
        XCTAssertTrue(first.metrics.keys.allSatisfy { ["g0", "g1"].contains($0) }, "\(first.metrics)")
    }

    /// The loss gathers each group's rows from per-row caches: the same loss, per-group losses and
    /// gradients, bit for bit, as the batch stacked whole and split by group.
    func testPerRowPromptsGiveTheLossOfTheStackedBatch() throws {
        let c = tinyConfiguration()
        let m = try LayerwiseTimestepExperts(c)
        randomizeParameters(m, seed: 3, std: 0.2)
        let rows = [2, 5, 3, 4, 2].enumerated().map { randomPrompt(c, length: $0.element, seed: UInt64(50 + $0.offset)) }
        let x1 = Tensor.randomNormal([5, 2, 4, 4], seed: 1), x0 = Tensor.randomNormal([5, 2, 4, 4], seed: 2)
        let t: [Float] = [0.1, 0.6, 0.3, 0.9, 0.7]
        let objective = FlowMatchingLoss()
        let (perRow, perRowGradients) = valueAndGradient(m) { objective.loss($0, data: x1, noise: x0, t: t, prompts: rows).loss }
        let (stacked, stackedGradients) = valueAndGradient(m) { objective.loss($0, data: x1, noise: x0, t: t, prompt: PromptCache.stack(rows)).loss }
        XCTAssertEqual(perRow, stacked)
        XCTAssertEqual(perRowGradients.mapValues { $0.toArray() }, stackedGradients.mapValues { $0.toArray() })
        let groups = withoutGradient { objective.loss(m, data: x1, noise: x0, t: t, prompts: rows).perGroup }
        XCTAssertEqual(groups.map { $0?.count }, [2, 3])
    }
}
