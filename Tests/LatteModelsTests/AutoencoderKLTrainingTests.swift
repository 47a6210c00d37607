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
        c.in_channels = 1
        c.out_channels = 1
        c.block_out_channels = [8, 16]
        c.norm_num_groups = 4
        c.latent_channels = 4
        c.sample_size = 16
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

/// The trainer's checkpoint holds everything a resumed run needs: the losses after resuming equal
/// those of an uninterrupted run.
final class AutoencoderTrainerResumeTests: XCTestCase {
    func makeTrainer() throws -> AutoencoderTrainer {
        var c = AutoencoderKLConfiguration()
        c.in_channels = 1; c.out_channels = 1; c.block_out_channels = [8, 8]; c.norm_num_groups = 4; c.latent_channels = 2
        return AutoencoderTrainer(model: try AutoencoderKL(c, seed: 1),
                                  settings: AutoencoderTrainingSettings(steps: 6, batchSize: 8, learningRate: 2e-3, warmupSteps: 2, seed: 3))
    }

    func testResumedRunMatchesUninterruptedRun() throws {
        let x = AutoencoderKLTrainingTests.images()
        let full = try makeTrainer()
        let reference = try (0..<6).map { _ in try full.trainStep(images: x).loss }

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-vae-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let first = try makeTrainer()
        for _ in 0..<3 { _ = try first.trainStep(images: x) }
        try first.saveCheckpoint(to: dir, dataState: "position 3")
        let second = try makeTrainer()
        XCTAssertEqual(try second.resume(from: dir), "position 3")
        XCTAssertEqual(second.step, 3)
        let resumed = try (0..<3).map { _ in try second.trainStep(images: x).loss }
        XCTAssertEqual(resumed, Array(reference[3...]))
        XCTAssertLessThan(reference.last!, reference.first!)
    }

    func testWrongImagesAreRefusedBeforeTraining() throws {
        let t = try makeTrainer()
        XCTAssertThrowsError(try t.trainStep(images: Tensor.zeros([2, 3, 16, 16]))) { XCTAssertTrue("\($0)".contains("[N, 1, H, W]"), "\($0)") }
        XCTAssertThrowsError(try t.trainStep(images: Tensor.zeros([2, 1, 15, 16]))) { XCTAssertTrue("\($0)".contains("multiple of 2"), "\($0)") }
        XCTAssertEqual(t.step, 0)
    }
}
