import Foundation
import XCTest
import LatteNN
import LatteTensor
@testable import LatteModels

/// A tiny AutoencoderKL learns to reconstruct 8 synthetic garment-like images with LatteNN's AdamW:
/// the whole forward/backward path (convs, GroupNorm, attention, padding, upsampling, sampling, KL)
/// carries gradients that train.
final class AutoencoderKLTrainingTests: XCTestCase {
    /// 8 grey 16×16 images in [−1, 1]: a bright rectangle (a "garment") of varying size and place
    /// on a dark background, with a darker stripe, so images differ in position and shape.
    static func images() -> Tensor {
        let n = 8, s = 16
        var values = [Float](repeating: -1, count: n * s * s)
        for i in 0..<n {
            let top = 1 + i % 4, left = 2 + (i * 3) % 5, height = 8 + i % 5, width = 6 + (i * 5) % 6
            for y in top..<Swift.min(s, top + height) {
                for x in left..<Swift.min(s, left + width) {
                    values[i * s * s + y * s + x] = y == top + height / 2 ? 0.2 : 0.9
                }
            }
        }
        return Tensor(values, shape: [n, 1, s, s])
    }

    func testTinyAutoencoderOverfitsEightImages() throws {
        var c = AutoencoderKLConfiguration()
        c.inChannels = 1
        c.outChannels = 1
        c.blockOutChannels = [8, 16]
        c.normNumGroups = 4
        c.latentChannels = 4
        c.sampleSize = 16
        let model = try AutoencoderKL(c, seed: 1)
        let x = Self.images()
        func reconstructionLoss() -> Float { Tensor.meanSquaredError(model.reconstruct(x), x).item() }

        let arena = model.packParameters()
        let opt = AdamW(arena: arena, weightDecay: 0, noDecay: AdamW.normsAndBiases)
        var noise = RandomGenerator(seed: 2)
        let before = reconstructionLoss()
        let start = Date()
        let steps = 150
        for _ in 0..<steps {
            // The usual VAE objective: reconstruct a posterior sample, plus a small KL term.
            _ = valueAndGradient(model, accumulatingInto: arena) { m in
                let dist = m.encode(x)
                let recon = Tensor.meanSquaredError(m.decode(dist.sample(generator: &noise)), x)
                return recon + dist.klDivergence() * 1e-6
            }
            opt.update(learningRate: 3e-3)
            arena.zeroGradients()
        }
        let seconds = Date().timeIntervalSince(start)
        let after = reconstructionLoss()
        print("AutoencoderKL overfit: reconstruction MSE \(before) → \(after) in \(steps) steps, \(String(format: "%.1f", seconds)) s")
        XCTAssertLessThan(after, before / 10, "reconstruction MSE \(before) → \(after)")
    }
}

/// The same images every step, as a trainer's data (position: steps drawn).
struct RepeatedImages: AutoencoderTrainingImages {
    let images: Tensor
    var drawn = 0
    mutating func next() throws -> Tensor { drawn += 1; return images }
    func savedState() throws -> String { "\(drawn)" }
    mutating func restore(_ state: String) throws { drawn = Int(state) ?? -1 }
}

/// The trainer's checkpoint holds everything a resumed run needs: the losses after resuming equal
/// those of an uninterrupted run (both in the one training loop, `TrainingRun`).
final class AutoencoderTrainerResumeTests: XCTestCase {
    func makeTrainer(images: Tensor = AutoencoderKLTrainingTests.images()) throws -> AutoencoderTrainer {
        var c = AutoencoderKLConfiguration()
        c.inChannels = 1; c.outChannels = 1; c.blockOutChannels = [8, 8]; c.normNumGroups = 4; c.latentChannels = 2
        return AutoencoderTrainer(model: try AutoencoderKL(c, seed: 1),
                                  settings: AutoencoderTrainingSettings(steps: 6, batchSize: 8, learningRate: 2e-3, warmupSteps: 2, seed: 3),
                                  images: RepeatedImages(images: images))
    }

    func losses(_ run: TrainingRun) throws -> [Float] {
        var out: [Float] = []
        try run.run(onStep: { out.append($0.loss) })
        return out
    }

    func testResumedRunMatchesUninterruptedRun() throws {
        let reference = try losses(try TrainingRun(trainer: try makeTrainer(), options: .init(directory: nil, steps: 6)))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-vae-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try losses(try TrainingRun(trainer: try makeTrainer(), options: .init(directory: dir, steps: 6, stopAfter: 3)))
        let second = try makeTrainer()
        let run = try TrainingRun(trainer: second, options: .init(directory: dir, steps: 6))
        XCTAssertEqual(run.step, 3)
        XCTAssertEqual((second.images as? RepeatedImages)?.drawn, 3, "the data position was restored")
        XCTAssertEqual(first + (try losses(run)), reference)
        XCTAssertLessThan(reference.last!, reference.first!)
        let logged = try TrainingLog.records(in: run.logURL!)
        XCTAssertEqual(logged.map(\.loss), reference)
        XCTAssertEqual(Set(logged[0].metrics.keys), ["mse", "l1", "kl"])
    }

    func testWrongImagesAreRefusedBeforeTraining() throws {
        for (images, message) in [(Tensor.zeros([2, 3, 16, 16]), "[N, 1, H, W]"), (Tensor.zeros([2, 1, 15, 16]), "multiple of 2")] {
            let run = try TrainingRun(trainer: try makeTrainer(images: images), options: .init(directory: nil, steps: 6))
            XCTAssertThrowsError(try run.run()) { XCTAssertTrue("\($0)".contains(message), "\($0)") }
            XCTAssertEqual(run.step, 0)
        }
    }
}
