import Foundation
import XCTest
import LatteFlow
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers

/// The whole text-to-image path on the real SmolLM2 backbone (skipped without the asset; `.ci/run`
/// fetches it) with a random generator and a random tiny autoencoder.
final class TextToImagePipelineTests: XCTestCase {
    static let backbone: (LLaMAModel, Tokenizer)? = {
        guard AssetCache().fileIfPresent(asset: "smollm2") != nil else { return nil }
        return try? TextToImagePipeline.loadBackbone("smollm2")
    }()

    func makePipeline() throws -> TextToImagePipeline {
        guard let (lm, tokenizer) = Self.backbone else { throw XCTSkip("asset smollm2 absent: run `latte assets fetch smollm2`") }
        let b = lm.configuration
        let c = GeneratorConfiguration(backbone: "smollm2", layerCount: b.layerCount, kvHeads: b.kvHeadCount, headDim: b.headDim,
                                       width: 192, queryHeads: 3, mlpWidth: 64, groups: 5, latentChannels: 4, latentHeight: 8,
                                       latentWidth: 8, patchSize: 1, ropeTheta: b.ropeTheta)
        let generator = try LayerwiseTimestepExperts(c, seed: 1)
        randomizeParameters(generator, seed: 2, std: 0.05)
        var v = AutoencoderKLConfiguration()
        v.in_channels = 1; v.out_channels = 1; v.block_out_channels = [8, 8, 8]; v.norm_num_groups = 4; v.latent_channels = 4
        let vae = try AutoencoderKL(v, seed: 3)
        let manifest = TextToImageManifest(backbone: "smollm2", autoencoder: "autoencoder", promptStartToken: "<|im_start|>", crop: 2,
                                           defaultSteps: 6, classNames: ["Sneaker"], classPhrases: [["a sneaker"]])
        return try TextToImagePipeline(manifest: manifest, generator: generator, autoencoder: vae, tokenizer: tokenizer, backbone: lm)
    }

    func testPromptsStartWithTheStartTokenAndTheNullPromptIsItAlone() throws {
        let p = try makePipeline()
        let ids = try p.tokens(for: "  a photo of a sneaker ")
        XCTAssertEqual(ids.first, p.tokenizer.tokenToID("<|im_start|>"))
        XCTAssertEqual(Array(ids.dropFirst()), p.tokenizer.encode("a photo of a sneaker", addSpecialTokens: false))
        XCTAssertEqual(p.nullTokens, [ids[0]])
    }

    func testSeedsPromptsAndBatchesBehave() throws {
        let p = try makePipeline()
        let s = p.settings(steps: 5, guidance: 2, seed: 7)
        let a = try p.generate(prompts: ["a sneaker", "a bag"], settings: s)
        XCTAssertEqual(a.shape, [2, 1, 28, 28], "32×32 decodes cropped by 2 on each side")
        let again = try p.generate(prompts: ["a sneaker", "a bag"], settings: s)
        XCTAssertEqual(a.toArray(), again.toArray(), "same seed, same images")
        // Image 1 of the batch (seed 8) equals the same prompt generated alone with seed 8.
        let alone = try p.generate(prompts: ["a bag"], settings: s, seeds: [8])
        assertClose(a.sliced(axis: 0, 1..<2).toArray(), alone.toArray(), tolerance: 1e-4)
        let other = try p.generate(prompts: ["a sneaker"], settings: s, seeds: [7])
        let bag = try p.generate(prompts: ["a bag"], settings: s, seeds: [7])
        XCTAssertGreaterThan(maxDifference(other.toArray(), bag.toArray()), 1e-3, "a different prompt gives a different image")
        XCTAssertEqual(p.prompts.prefills, 3, "two prompts and the null prompt, each prefilled once")
    }

    func testModelFolderRoundTripsAndErrorsNameTheProblem() throws {
        let p = try makePipeline()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-t2i-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        XCTAssertThrowsError(try TextToImagePipeline.load(directory: dir)) { XCTAssertTrue("\($0)".contains("model.json"), "\($0)") }
        var manifest = p.manifest
        try manifest.save(to: dir.appendingPathComponent("model.json"))
        try p.generator.configuration.save(to: dir.appendingPathComponent("generator.json"))
        try p.autoencoder.save(directory: dir.appendingPathComponent("autoencoder"))
        XCTAssertThrowsError(try TextToImagePipeline.load(directory: dir)) { XCTAssertTrue("\($0)".contains("generator.safetensors"), "\($0)") }
        try p.generator.saveSafetensors(dir.appendingPathComponent("generator.safetensors"))
        let loaded = try TextToImagePipeline.load(directory: dir)
        let s = p.settings(steps: 4, guidance: 1, seed: 3)
        XCTAssertEqual(try loaded.generate(prompts: ["a sneaker"], settings: s).toArray(), try p.generate(prompts: ["a sneaker"], settings: s).toArray())
        manifest.promptStartToken = "<|no such token|>"
        try manifest.save(to: dir.appendingPathComponent("model.json"))
        XCTAssertThrowsError(try TextToImagePipeline.load(directory: dir)) { XCTAssertTrue("\($0)".contains("no such token"), "\($0)") }
    }
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { abs($0 - $1) }.max() ?? 0 }

func assertClose(_ a: [Float], _ b: [Float], tolerance: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "sizes differ", file: file, line: line)
    let d = maxDifference(a, b)
    XCTAssertLessThanOrEqual(d, tolerance, "max difference \(d)", file: file, line: line)
}
