import Foundation
import LatteTensor
import XCTest
import LatteNN

/// Batch i of a linear-regression task, drawn from seed i alone; `poisonAt` positions give NaN inputs.
struct RegressionBatches: ResumableBatches {
    var position = 0
    var poisonAt: Set<Int> = []

    mutating func next() throws -> (x: Tensor, y: Tensor) {
        defer { position += 1 }
        var x = Tensor.randomNormal([8, 3], seed: UInt64(500 + position))
        let y = x.matmul(Tensor([1, -2, 0.5], shape: [3, 1])) + 0.25
        if poisonAt.contains(position) { x = x * Float.nan }
        return (x, y)
    }

    func savedState() throws -> String { "\(position)" }
    mutating func restore(_ state: String) throws {
        guard let p = Int(state) else { throw TrainingError(message: "bad position \(state)") }
        position = p
    }
}

/// The smallest trainer: a linear layer regressing a fixed linear map, AdamW with warm-up and EMA.
final class RegressionTrainer: StepTrainer {
    let model: Linear
    var data: RegressionBatches
    let update: ParameterUpdate

    init(seed: UInt64, data: RegressionBatches = RegressionBatches()) {
        var g = RandomGenerator(seed: seed)
        model = Linear(3, 1, generator: &g)
        self.data = data
        let arena = model.packParameters()
        update = ParameterUpdate(model: model, arena: arena, optimizer: AdamW(arena: arena, weightDecay: 0),
                                 ema: ExponentialMovingAverage(arena: arena, decay: 0.9), schedule: LearningRateSchedule.constant(0.05).warmup(2),
                                 clipNorm: 1)
    }

    func computeGradients() throws -> StepLoss {
        let batch = try data.next()
        let loss = valueAndGradient(model, accumulatingInto: update.arena) { m in Tensor.meanSquaredError(m(batch.x), batch.y) }
        return StepLoss(loss: loss, metrics: [("half", loss / 2)])
    }

    func checkpointState() throws -> [String: String] { ["data": try data.savedState()] }
    func restore(checkpointState: [String: String]) throws {
        guard let d = checkpointState["data"] else { throw TrainingError(message: "no data position") }
        try data.restore(d)
    }
}

/// `TrainingRun`, the one loop every trainer runs in: resume, stop-after, the non-finite guard, log
/// trimming, restart and in-memory runs, on a tiny synthetic step.
final class TrainingRunTests: XCTestCase {
    func records(_ run: TrainingRun, exports: inout [Int]) throws -> [TrainingLogRecord] {
        var out: [TrainingLogRecord] = []
        var exported: [Int] = []
        try run.run(onStep: { out.append($0) }, export: { exported.append($0) })
        exports += exported
        return out
    }

    func logged(_ run: TrainingRun) throws -> [TrainingLogRecord] { try TrainingLog.records(in: run.logURL!) }

    /// Log records without the wall-clock time, for comparing runs.
    func values(_ r: [TrainingLogRecord]) -> [[Float]] {
        r.map { [Float($0.step), $0.loss, $0.learningRate, $0.gradientNorm, $0.applied ? 1 : 0, $0.metrics["half"] ?? -1] }
    }

    func testStopAfterThenAKilledStretchResumeToTheUninterruptedRun() throws {
        let dir = try temporaryDirectory(self)
        var exports: [Int] = []
        let reference = try TrainingRun(trainer: RegressionTrainer(seed: 1), options: .init(directory: dir.appendingPathComponent("a"), steps: 8, checkpointEvery: 3))
        let full = try records(reference, exports: &exports)
        XCTAssertEqual(exports, [3, 6, 8], "export after every checkpoint and at the end")
        XCTAssertEqual(values(try logged(reference)), values(full))
        XCTAssertEqual(full.map(\.learningRate), [0, 0.025, 0.05, 0.05, 0.05, 0.05, 0.05, 0.05])

        // Stop after step 4 of the 8-step schedule: checkpoint and export there, not at 3's cadence only.
        let b = dir.appendingPathComponent("b")
        exports = []
        let early = try TrainingRun(trainer: RegressionTrainer(seed: 1), options: .init(directory: b, steps: 8, stopAfter: 4, checkpointEvery: 3))
        XCTAssertEqual(values(try records(early, exports: &exports)), values(Array(full[0..<4])))
        XCTAssertEqual(exports, [3, 4])

        // A killed run: steps 5 and 6 logged after the step-4 checkpoint, then nothing.
        let killed = try TrainingLog(url: early.logURL!)
        for s in 5...6 { try killed.append(TrainingLogRecord(step: s, loss: 99, learningRate: 0, gradientNorm: 0, applied: true, seconds: 0)) }
        killed.close()

        // Fresh objects (another initial seed, which the checkpoint overrides) resume at 4 and repeat 5 and 6.
        exports = []
        let resumed = try TrainingRun(trainer: RegressionTrainer(seed: 77), options: .init(directory: b, steps: 8, checkpointEvery: 3))
        XCTAssertEqual(resumed.step, 4)
        XCTAssertEqual(values(try records(resumed, exports: &exports)), values(Array(full[4...])))
        XCTAssertEqual(exports, [6, 8])
        XCTAssertEqual(values(try logged(resumed)), values(full), "the log holds each step once, with the resumed values")

        // A finished run takes no step, but exports its end again (a kill between the last checkpoint and
        // its export must not leave an older export behind).
        exports = []
        let again = try TrainingRun(trainer: RegressionTrainer(seed: 1), options: .init(directory: b, steps: 8))
        XCTAssertEqual(again.step, 8)
        XCTAssertTrue(try records(again, exports: &exports).isEmpty)
        XCTAssertEqual(exports, [8])
        // Past its stop (stopAfter 4 of a run at 8): nothing, no export of a step it is not at.
        exports = []
        let past = try TrainingRun(trainer: RegressionTrainer(seed: 1), options: .init(directory: b, steps: 8, stopAfter: 4))
        XCTAssertTrue(try records(past, exports: &exports).isEmpty)
        XCTAssertEqual(exports, [])
    }

    func testRestartDeletesTheCheckpointAndTheLog() throws {
        let dir = try temporaryDirectory(self)
        var exports: [Int] = []
        let first = try TrainingRun(trainer: RegressionTrainer(seed: 1), options: .init(directory: dir, steps: 4, checkpointEvery: 2))
        let original = try records(first, exports: &exports)
        let restarted = try TrainingRun(trainer: RegressionTrainer(seed: 1), options: .init(directory: dir, steps: 2, restart: true))
        XCTAssertEqual(restarted.step, 0)
        XCTAssertEqual(values(try records(restarted, exports: &exports)), values(Array(original[0..<2])))
        XCTAssertEqual(try logged(restarted).map(\.step), [1, 2])
    }

    /// A non-finite step is logged as not applied and leaves the weights alone; the limit in a row
    /// stops the run with an error, keeping the last good checkpoint.
    func testNonFiniteStepsAreSkippedThenStopTheRun() throws {
        let dir = try temporaryDirectory(self)
        let trainer = RegressionTrainer(seed: 1, data: RegressionBatches(poisonAt: [1, 4, 5, 6]))
        var notes: [String] = []
        let run = try TrainingRun(trainer: trainer, options: .init(directory: dir, steps: 10, checkpointEvery: 4, maxNonFiniteSteps: 3),
                                  report: { notes.append($0) })
        var weightsAfter: [[Float]] = []
        XCTAssertThrowsError(try run.run(onStep: { _ in weightsAfter.append(trainer.model.weight.value.toArray()) })) { error in
            XCTAssertTrue(error is NonFiniteTrainingError, "\(error)")
            XCTAssertTrue("\(error)".contains("stopping at step 7"), "\(error)")
        }
        let log = try logged(run)
        XCTAssertEqual(log.map(\.applied), [true, false, true, true, false, false])
        XCTAssertTrue(log[1].loss.isNaN, "a skipped step is logged with its non-finite loss")
        guard weightsAfter.count == 6 else { return XCTFail("\(weightsAfter.count) steps reported") }
        XCTAssertEqual(weightsAfter[1], weightsAfter[0], "a skipped step changed the weights")
        XCTAssertNotEqual(weightsAfter[2], weightsAfter[1])
        XCTAssertEqual(try Checkpoint.load(model: Linear(3, 1), from: run.checkpointURL!)["step"], "4")
        XCTAssertEqual(notes.filter { $0.contains("skipped") }.count, 3, "\(notes)")
    }

    func testInMemoryRunWritesNothingAndChecksItsOptions() throws {
        var exports: [Int] = []
        let run = try TrainingRun(trainer: RegressionTrainer(seed: 1), options: .init(directory: nil, steps: 5, checkpointEvery: 2))
        XCTAssertNil(run.logURL)
        XCTAssertEqual(try records(run, exports: &exports).map(\.step), [1, 2, 3, 4, 5])
        XCTAssertEqual(exports, [2, 4, 5], "the export hook runs at the cadence without a folder too")
        XCTAssertThrowsError(try TrainingRun(trainer: RegressionTrainer(seed: 1), options: .init(directory: nil, steps: 5, stopAfter: 6))) {
            XCTAssertTrue("\($0)".contains("stop-after 6"), "\($0)")
        }
    }

    func testACheckpointOfAnotherKindOfRunIsRefused() throws {
        let dir = try temporaryDirectory(self)
        let trainer = RegressionTrainer(seed: 1)
        try Checkpoint.save(model: trainer.model, optimizer: trainer.update.optimizer, ema: trainer.update.ema,
                            extra: ["step": "2"], to: dir.appendingPathComponent("checkpoint"))
        XCTAssertThrowsError(try TrainingRun(trainer: trainer, options: .init(directory: dir, steps: 4))) {
            XCTAssertTrue("\($0)".contains("no data position"), "\($0)")
        }
    }
}
