import Foundation
import LatteTensor
import XCTest
import LatteNN

/// Short training runs whose loss must fall at least tenfold, and checkpoint resume.
final class TrainingTests: XCTestCase {
    /// A 2-layer MLP regresses a fixed random teacher network.
    func testMLPLearnsTeacher() {
        var g = RandomGenerator(seed: 21)
        let x = Tensor.normal([128, 4], generator: &g)
        let teacherA = Tensor.normal([4, 16], generator: &g), teacherB = Tensor.normal([16, 1], std: 0.5, generator: &g)
        let y = x.matmul(teacherA).tanh().matmul(teacherB)

        let net = Sequential([Linear(4, 32, generator: &g), Activation(.tanh), Linear(32, 1, generator: &g)])
        let arena = net.packParameters()
        let opt = AdamW(arena: arena, weightDecay: 0, noDecay: AdamW.normsAndBiases)
        let schedule = LearningRateSchedule.cosine(from: 1e-2, to: 1e-3, steps: 300).warmup(10)
        var first: Float = 0, last: Float = 0
        for step in 0..<300 {
            let loss = valueAndGradient(net, accumulatingInto: arena) { m in Tensor.meanSquaredError(m(x), y) }
            if step == 0 { first = loss }
            last = loss
            arena.clipGradients(maxNorm: 1)
            opt.update(learningRate: schedule(step))
            arena.zeroGradients()
        }
        XCTAssertLessThan(last, first / 10, "MLP loss \(first) → \(last)")
        print("MLP: loss \(first) → \(last)")
    }

    /// A 2-block pre-norm transformer learns to copy: [a₁ … aₙ, SEP, a₁ … aₙ], loss on the copy.
    func testTinyTransformerLearnsToCopy() {
        let n = 5, vocab = 8, sep = 7   // symbols 1…6, 0 unused, 7 separator
        let model = TinyDecoder(vocab: vocab, hidden: 32, layerCount: 2, seed: 31)
        let arena = model.packParameters()
        let opt = AdamW(arena: arena, beta2: 0.98, weightDecay: 0.01, noDecay: AdamW.normsAndBiases)
        let schedule = LearningRateSchedule.cosine(from: 1e-2, to: 1e-3, steps: 140).warmup(20)
        var data = RandomGenerator(seed: 32)
        func batch(_ size: Int) -> (ids: Tensor, targets: Tensor) {
            var ids: [Int] = [], targets: [Int] = []
            for _ in 0..<size {
                let seq = (0..<n).map { _ in 1 + data.nextInt(below: 6) }
                let row = seq + [sep] + seq
                ids += row.dropLast()
                // Predict token t+1 from prefix ≤ t; only the copied half is scored.
                targets += [Int](repeating: -1, count: n) + seq
            }
            return (Tensor(indices: ids, shape: [size, 2 * n]), Tensor(indices: targets))
        }
        var first: Float = 0, last: Float = 0
        let start = Date()
        for step in 0..<160 {
            let (ids, targets) = batch(16)
            let loss = valueAndGradient(model, accumulatingInto: arena) { m in
                Tensor.crossEntropy(logits: forward(m, ids).reshaped([-1, vocab]), targets: targets, ignoreIndex: -1)
            }
            if step == 0 { first = loss }
            last = loss
            arena.clipGradients(maxNorm: 1)
            opt.update(learningRate: schedule(step))
            arena.zeroGradients()
        }
        // Judge on a fresh batch, without recording.
        let (ids, targets) = batch(64)
        let eval = withoutGradient {
            Tensor.crossEntropy(logits: forward(model, ids).reshaped([-1, vocab]), targets: targets, ignoreIndex: -1).item()
        }
        print("transformer copy: loss \(first) → \(last) (held-out \(eval)) in \(Date().timeIntervalSince(start)) s")
        XCTAssertLessThan(eval, first / 10, "copy-task loss \(first) → \(eval)")
    }

    /// Save mid-run, resume into fresh objects, and both continuations are bit-identical.
    func testCheckpointResumeIsBitExact() throws {
        let dir = try temporaryDirectory(self)
        let ids = Tensor(indices: [1, 2, 3, 4, 5, 6, 1, 2], shape: [2, 4])
        let targets = Tensor(indices: [2, 3, 4, 5, 6, 1, 2, 3])
        func makeRun(seed: UInt64) -> (TinyDecoder, ParameterArena, AdamW, ExponentialMovingAverage) {
            let m = TinyDecoder(vocab: 8, hidden: 8, layerCount: 1, seed: seed)
            m.embed_tokens.freeze()   // frozen parameters are saved too, and restored strictly
            let a = m.packParameters()
            return (m, a, AdamW(arena: a, weightDecay: 0.1, noDecay: AdamW.normsAndBiases), ExponentialMovingAverage(arena: a, decay: 0.9, warmup: true))
        }
        func train(_ run: (TinyDecoder, ParameterArena, AdamW, ExponentialMovingAverage), steps: Int) {
            for _ in 0..<steps {
                valueAndGradient(run.0, accumulatingInto: run.1) { m in
                    Tensor.crossEntropy(logits: forward(m, ids).reshaped([-1, 8]), targets: targets)
                }
                run.2.update(learningRate: 1e-2)
                run.3.update()
                run.1.zeroGradients()
            }
        }
        let a = makeRun(seed: 1)
        train(a, steps: 3)
        let url = dir.appendingPathComponent("ckpt")
        try Checkpoint.save(model: a.0, optimizer: a.2, ema: a.3, extra: ["step": "3", "note": "resume test"], to: url)
        try Checkpoint.save(model: a.0, optimizer: a.2, ema: a.3, extra: ["step": "3", "note": "resume test"], to: url)  // overwrite in place
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["ckpt"], "no temporary left behind")

        let b = makeRun(seed: 2)
        let extra = try Checkpoint.load(model: b.0, optimizer: b.2, ema: b.3, from: url)
        XCTAssertEqual(extra, ["step": "3", "note": "resume test"])
        XCTAssertEqual(b.2.step, 3)
        XCTAssertEqual(b.3.updates, 3)
        train(a, steps: 2)
        train(b, steps: 2)
        for ((k, p), (_, q)) in zip(a.0.namedParameters(), b.0.namedParameters()) {
            XCTAssertEqual(bits(p.value), bits(q.value), k)
        }
        for (k, t) in a.3.averagedTensors() { XCTAssertEqual(bits(t), bits(b.3.averagedTensors()[k]!), "EMA \(k)") }

        // A model of another shape: the error names the file, the key and both shapes.
        let other = TinyDecoder(vocab: 8, hidden: 16, layerCount: 1)
        XCTAssertThrowsError(try Checkpoint.load(model: other, from: url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("model.safetensors") && text.contains("'embed_tokens.weight'") && text.contains("[8, 16]") && text.contains("[8, 8]"), text)
        }
        XCTAssertThrowsError(try Checkpoint.load(model: b.0, from: dir.appendingPathComponent("absent")))
    }

    /// A save killed between its two renames leaves the checkpoint under a temporary name;
    /// `Checkpoint.exists` puts the newest complete one back, and removes half-written leftovers.
    func testInterruptedSaveIsRecovered() throws {
        let dir = try temporaryDirectory(self)
        let model = Linear(3, 2)
        let url = dir.appendingPathComponent("run/checkpoint"), parent = url.deletingLastPathComponent()
        try Checkpoint.save(model: model, extra: ["step": "1"], to: url)
        XCTAssertTrue(Checkpoint.exists(at: url))
        // Killed after moving the old checkpoint aside, before the new one was renamed in.
        try FileManager.default.moveItem(at: url, to: parent.appendingPathComponent(".checkpoint.old-99"))
        try FileManager.default.createDirectory(at: parent.appendingPathComponent(".checkpoint.partial-98"), withIntermediateDirectories: true)
        XCTAssertTrue(Checkpoint.exists(at: url))
        XCTAssertEqual(try Checkpoint.load(model: model, from: url)["step"], "1")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: parent.path), ["checkpoint"], "leftovers removed")
        // A complete new save that was not yet renamed wins over the old copy.
        try Checkpoint.save(model: model, extra: ["step": "2"], to: parent.appendingPathComponent("staged"))
        try FileManager.default.moveItem(at: url, to: parent.appendingPathComponent(".checkpoint.old-97"))
        try FileManager.default.moveItem(at: parent.appendingPathComponent("staged"), to: parent.appendingPathComponent(".checkpoint.partial-97"))
        XCTAssertTrue(Checkpoint.exists(at: url))
        XCTAssertEqual(try Checkpoint.load(model: model, from: url)["step"], "2")
        XCTAssertFalse(Checkpoint.exists(at: dir.appendingPathComponent("nothing/checkpoint")))
    }
}

