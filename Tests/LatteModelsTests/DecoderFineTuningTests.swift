import Foundation
import XCTest
import LatteNN
import LatteTensor
@testable import LatteModels

/// `decoderOnly` fine-tuning (`latte train-vae --decoder-only`): the encoder — and so every latent a
/// generator was trained on — stays bit for bit; the decoder learns to map noisy latents back to images.
final class DecoderFineTuningTests: XCTestCase {
    func testEncoderStaysExactAndTheDecoderLearnsFromNoisyLatents() throws {
        var c = AutoencoderKLConfiguration()
        c.inChannels = 1; c.outChannels = 1; c.blockOutChannels = [8, 8]; c.normNumGroups = 4; c.latentChannels = 2
        c.scalingFactor = 0.5
        let model = try AutoencoderKL(c, seed: 1)
        let x = AutoencoderKLTrainingTests.images()
        let encoderBefore = Dictionary(uniqueKeysWithValues: model.namedParameters().filter { !$0.0.hasPrefix("decoder.") && !$0.0.hasPrefix("post_quant_conv.") }
            .map { ($0.0, $0.1.value.toArray()) })
        let decoderBefore = model.namedParameters().filter { $0.0.hasPrefix("decoder.") }.map { $0.1.value.toArray() }
        XCTAssertFalse(encoderBefore.isEmpty)

        // Noisy latents reconstructed by the untrained decoder: the loss the fine-tuning must lower.
        var g = RandomGenerator(seed: 9)
        let mean = withoutGradient { model.encode(x).mean }
        let noisy = mean + Tensor.normal(mean.shape, generator: &g) * (0.3 / c.scalingFactor)
        func noisyError() -> Float { withoutGradient { Tensor.meanSquaredError(model.decode(noisy), x).item() } }
        let before = noisyError()

        let trainer = AutoencoderTrainer(model: model, settings: AutoencoderTrainingSettings(
            steps: 60, batchSize: 8, learningRate: 3e-3, warmupSteps: 5, decoderOnly: true, decoderNoise: 0.6, seed: 3),
            images: RepeatedImages(images: x))
        var losses: [Float] = []
        try TrainingRun(trainer: trainer, options: .init(directory: nil, steps: 60)).run(onStep: { losses.append($0.loss) })
        XCTAssertEqual(losses.count, 60)
        XCTAssertTrue(losses.allSatisfy(\.isFinite))

        for (name, p) in model.namedParameters() {
            if let old = encoderBefore[name] { XCTAssertEqual(p.value.toArray(), old, "\(name) changed") }
        }
        let decoderAfter = model.namedParameters().filter { $0.0.hasPrefix("decoder.") }.map { $0.1.value.toArray() }
        XCTAssertNotEqual(decoderAfter, decoderBefore, "the decoder did not train")
        let after = noisyError()
        XCTAssertLessThan(after, before / 2, "noisy-latent reconstruction MSE \(before) → \(after)")
    }
}
