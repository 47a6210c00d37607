import Foundation
import XCTest
import LatteTestSupport
import LatteFlow
import LatteModels
import LatteNN
import LatteTensor

/// A tiny random DC-AE: RGB, three stages (×4 down), 4 latent channels, ResBlocks and one
/// EfficientViT stage (linear attention), pixel (un)shuffle, both latent shortcuts, scale 0.5.
func tinyAutoencoderDC(seed: UInt64 = 3, latentChannels: Int = 4) throws -> AutoencoderDC {
    var c = AutoencoderDCConfiguration()
    c.inChannels = 3; c.latentChannels = latentChannels; c.attentionHeadDim = 8
    c.encoderBlockOutChannels = [8, 16, 16]; c.decoderBlockOutChannels = [8, 16, 16]
    c.encoderLayersPerBlock = [1, 1, 1]; c.decoderLayersPerBlock = [1, 1, 1]
    c.encoderBlockTypes = .each(["ResBlock", "ResBlock", "EfficientViTBlock"])
    c.decoderBlockTypes = .each(["ResBlock", "ResBlock", "EfficientViTBlock"])
    c.encoderQkvMultiscales = [[], [], []]; c.decoderQkvMultiscales = [[], [], [3]]
    c.scalingFactor = 0.5
    return try AutoencoderDC(c, seed: seed)
}

/// The text-to-image path with a DC-AE instead of an AutoencoderKL: a model folder whose autoencoder
/// is an AutoencoderDC generates RGB images of the right size (the real SmolLM2 backbone; skipped
/// without the asset, failed under CI=true), and a generator trains on DC-AE latents.
final class AutoencoderDCPipelineTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-t2i-dc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func makePipeline() throws -> TextToImagePipeline {
        _ = try PinnedAssets.require("smollm2")
        let (lm, tokenizer) = try TextToImagePipelineTests.backbone.get()
        let b = lm.configuration
        let c = GeneratorConfiguration(backbone: "smollm2", layerCount: b.layerCount, kvHeads: b.kvHeadCount, headDim: b.headDim,
                                       width: 192, queryHeads: 3, mlpWidth: 64, groups: 5, latentChannels: 4, latentHeight: 8,
                                       latentWidth: 8, patchSize: 1, ropeTheta: b.ropeTheta)
        let generator = try LayerwiseTimestepExperts(c, seed: 1)
        randomizeParameters(generator, seed: 2, std: 0.05)
        let manifest = TextToImageManifest(backbone: "smollm2", autoencoder: "autoencoder", promptStartToken: "<|im_start|>", crop: 2,
                                           defaultSteps: 4)
        return try TextToImagePipeline(manifest: manifest, generator: generator, autoencoder: try tinyAutoencoderDC(),
                                       tokenizer: tokenizer, backbone: lm)
    }

    /// 8×8 latents × 4 (the DC-AE's factor) = 32×32 RGB, cropped by 2 → 28×28; the folder written by
    /// `save(to:)` holds an AutoencoderDC folder and loads back to the same images.
    func testAModelFolderWithADCAutoencoderGeneratesRGBImagesOfTheRightSize() throws {
        let p = try makePipeline()
        let s = p.settings(steps: 3, guidance: 2, seed: 4)
        let images = try p.generate(prompts: ["a red heart", "a blue square"], settings: s)
        XCTAssertEqual(images.shape, [2, 3, 28, 28])
        XCTAssertTrue(images.toArray().allSatisfy(\.isFinite))
        XCTAssertGreaterThan(maxDifference(images.sliced(axis: 0, 0..<1).toArray(), images.sliced(axis: 0, 1..<2).toArray()), 1e-4,
                             "two prompts and seeds, two images")

        let folder = dir.appendingPathComponent("model")
        try p.save(to: folder, weights: .float32)
        XCTAssertEqual(try AutoencoderFolder.className(in: folder.appendingPathComponent("autoencoder")), "AutoencoderDC")
        let loaded = try TextToImagePipeline.load(directory: folder)
        XCTAssertTrue(loaded.autoencoder is AutoencoderDC)
        XCTAssertEqual(try loaded.generate(prompts: ["a red heart", "a blue square"], settings: s).toArray(), images.toArray())
    }

    /// The decode is the DC-AE's decoder on the un-scaled latents (scaling factor 0.5), then the crop.
    func testDecodeUnscalesThroughTheAutoencodersOwnFactor() throws {
        let p = try makePipeline()
        let dc = try XCTUnwrap(p.autoencoder as? AutoencoderDC)
        let z = Tensor.randomNormal([1, 4, 8, 8], seed: 9)
        let expected = dc.decode(z * 2).sliced(axis: 2, 2..<30).sliced(axis: 3, 2..<30).contiguous()
        assertClose(p.decode(z).toArray(), expected.toArray(), tolerance: 1e-5)
    }

    /// A pipeline refuses an autoencoder whose latent channels differ from the generator's, naming its family.
    func testALatentChannelMismatchIsRefused() throws {
        let p = try makePipeline()
        XCTAssertThrowsError(try TextToImagePipeline(manifest: p.manifest, generator: p.generator,
                                                     autoencoder: try tinyAutoencoderDC(latentChannels: 8), tokenizer: p.tokenizer,
                                                     backbone: p.prompts.backbone)) {
            XCTAssertTrue("\($0)".contains("AutoencoderDC") && "\($0)".contains("8 latent channels"), "\($0)")
        }
    }
}

/// The generator's training step on DC-AE latents, through the public API the training run uses:
/// images encoded once through `LatentAutoencoder.encodeScaled`, the generator shaped by those latents,
/// `GeneratorTrainer` in `TrainingRun`. No backbone: random prompt caches stand in for its prefill.
final class AutoencoderDCTrainingTests: XCTestCase {
    func testTheLossFallsOnDCLatents() throws {
        let autoencoder: any LatentAutoencoder = try tinyAutoencoderDC()
        // Four smooth RGB images (colour gradients), 16×16 → 4×4×4 latents.
        var pixels: [Float] = []
        for i in 0..<4 {
            for ch in 0..<3 {
                for y in 0..<16 { for x in 0..<16 { pixels.append(sin(Float(x + 2 * y) / Float(3 + i + ch)) * 0.8) } }
            }
        }
        let images = Tensor(pixels, shape: [4, 3, 16, 16])
        try autoencoder.validateImages(images)
        let latents = withoutGradient { autoencoder.encodeScaled(images) }.contiguous()
        XCTAssertEqual(latents.shape, [4, 4, 4, 4])
        let c = try GeneratorConfiguration(backbone: "test", geometry: BackboneGeometry(layerCount: 4, kvHeads: 2, headDim: 8, ropeTheta: 100),
                                           latentShape: Array(latents.shape.dropFirst()),
                                           shape: GeneratorShape(groups: 2, width: 32, mlpWidth: 48))
        let phrases = (0..<4).map { [randomPrompt(c, length: 3, seed: UInt64(20 + $0))] }
        let data = try LabelledLatentData(latents: latents, labels: [0, 1, 2, 3], phrases: phrases, batchSize: 4, seed: 1)
        let trainer = GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: 2),
                                       settings: TrainingSettings(steps: 60, learningRate: 3e-3, warmupSteps: 5, conditionDropout: 0,
                                                                  timesteps: .uniform, seed: 3),
                                       nullPrompt: randomPrompt(c, length: 1, seed: 30), data: data)
        var losses: [Float] = []
        try TrainingRun(trainer: trainer, options: .init(directory: nil, steps: 60)).run(onStep: { losses.append($0.loss) })
        let first = losses.prefix(10).reduce(0, +) / 10, last = losses.suffix(10).reduce(0, +) / 10
        XCTAssertLessThan(last, 0.7 * first, "mean loss of the first 10 steps \(first), of the last 10 \(last)")
    }
}
