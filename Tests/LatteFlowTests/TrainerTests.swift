import XCTest
import LatteFlow
import LatteNN
import LatteTensor

/// Deterministic synthetic data: batch i is drawn from (seed, i); four prompts cycle.
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

final class TrainerTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-trainer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func settings(steps: Int) -> TrainingSettings {
        TrainingSettings(steps: steps, learningRate: 1e-3, warmupSteps: 2, checkpointEvery: 3, seed: 7)
    }

    /// A run stopped after its step-3 checkpoint (the process simply abandoned, as by SIGKILL) and
    /// resumed continues with exactly the losses of an uninterrupted run.
    func testResumedRunRepeatsTheUninterruptedLosses() throws {
        let c = tinyConfiguration()
        let null = randomPrompt(c, length: 1, seed: 9)
        var full: [Float] = []
        do {
            let trainer = GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: 1), settings: settings(steps: 6), nullPrompt: null)
            var data = SyntheticData(c)
            try trainer.train(&data, checkpointDirectory: dir.appendingPathComponent("a")) { full.append($0.loss) }
        }
        let ckpt = dir.appendingPathComponent("b")
        var firstHalf: [Float] = []
        do {
            let trainer = GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: 1), settings: settings(steps: 6), nullPrompt: null)
            var data = SyntheticData(c)
            for _ in 0..<4 { firstHalf.append(try trainer.trainStep(&data).loss); if trainer.step == 3 { try trainer.saveCheckpoint(to: ckpt, data: data) } }
            // Step 4 ran but was never checkpointed: it is lost, as in a crash.
        }
        let trainer = GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: 99), settings: settings(steps: 6), nullPrompt: null)
        var data = SyntheticData(c)
        try trainer.resume(from: ckpt, data: &data)
        XCTAssertEqual(trainer.step, 3)
        var rest: [Float] = []
        try trainer.train(&data, checkpointDirectory: ckpt) { rest.append($0.loss) }
        XCTAssertEqual(Array(firstHalf.prefix(3)) + rest, full)
        XCTAssertEqual(firstHalf[3], full[3])
    }

    func testNonFiniteStepsAreSkippedThenStopTheRun() throws {
        let c = tinyConfiguration()
        var s = settings(steps: 10)
        s.maxNonFiniteSteps = 2
        let trainer = GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: 1), settings: s, nullPrompt: randomPrompt(c, length: 1, seed: 9))
        var data = SyntheticData(c)
        data.poisonAt = [1, 4, 5]
        let ckpt = dir.appendingPathComponent("c")
        var steps: [TrainingStep] = []
        XCTAssertThrowsError(try trainer.train(&data, checkpointDirectory: ckpt) { steps.append($0) }) { error in
            XCTAssertTrue("\(error)".contains("non-finite"), "\(error)")
        }
        XCTAssertEqual(steps.map(\.applied), [true, false, true, true, false])
        // The step-3 checkpoint survives and holds finite weights.
        let restored = try LayerwiseTimestepExperts(c, seed: 5)
        let extra = try Checkpoint.load(model: restored, from: ckpt)
        XCTAssertEqual(extra["step"], "3")
        XCTAssertTrue(restored.namedParameters().allSatisfy { $0.parameter.value.toArray().allSatisfy(\.isFinite) })
    }

    func testLogWritesOneJSONLinePerStep() throws {
        let c = tinyConfiguration()
        let trainer = GeneratorTrainer(model: try LayerwiseTimestepExperts(c), settings: settings(steps: 3), nullPrompt: randomPrompt(c, length: 1, seed: 9))
        var data = SyntheticData(c)
        let log = dir.appendingPathComponent("log.jsonl")
        try trainer.train(&data, checkpointDirectory: nil, logURL: log)
        let lines = try String(contentsOf: log, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 3)
        let first = try JSONDecoder().decode(TrainingStep.self, from: Data(lines[0].utf8))
        XCTAssertEqual(first.step, 1)
        XCTAssertEqual(first.groupCounts.reduce(0, +), 3)
    }
}
