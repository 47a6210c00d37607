import Foundation
import XCTest
import LatteFlow
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor

/// `latte train --backbone DIR` with a Qwen2-VL folder (the paper's backbone family), end to end on the
/// tiny random Qwen2-VL fixtures: a folder of four images becomes four fixed latents, the generator
/// trains on them with its image positions in the backbone's M-RoPE sections, the exported folder
/// reloads in `TextToImagePipeline.load` and generates; and a generator paired with a subset of the
/// backbone's layers records the pairing and reads only those layers' keys and values.
final class Qwen2VLTrainingTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-qwen2vl-train-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// Two classes ("bag", "shoe") of two 8×8 grey images each, and a random one-level autoencoder
    /// (8×8 → 2×4×4 latents).
    func makeDataAndAutoencoder() throws -> (data: URL, autoencoder: URL) {
        let data = dir.appendingPathComponent("images")
        for (c, name) in ["bag", "shoe"].enumerated() {
            let folder = data.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for i in 0..<2 {
                let pixels = (0..<64).map { p in UInt8((p % 8 < 4) == (c == 0) ? 40 + 60 * i : 220 - 30 * (p / 8)) }
                try PNG.write(Image(width: 8, height: 8, channels: 1, pixels: pixels), to: folder.appendingPathComponent("\(i).png").path)
            }
        }
        var v = AutoencoderKLConfiguration()
        v.inChannels = 1; v.outChannels = 1; v.blockOutChannels = [8, 8]; v.normNumGroups = 4; v.latentChannels = 2
        v.scalingFactor = 1
        let autoencoder = dir.appendingPathComponent("vae")
        try AutoencoderKL(v, seed: 5).save(directory: autoencoder)
        return (data, autoencoder)
    }

    func options(backbone: URL, steps: Int, shape: GeneratorShape, name: String) throws -> TextToImageTrainingOptions {
        let (data, autoencoder) = try makeDataAndAutoencoder()
        var o = TextToImageTrainingOptions()
        o.data = data.path
        o.autoencoder = autoencoder
        o.backbone = backbone.path
        o.output = dir.appendingPathComponent("\(name)-model")
        o.runDirectory = dir.appendingPathComponent("\(name)-run")
        o.shape = shape
        o.steps = steps
        o.batch = 4
        o.learningRate = 3e-3
        o.warmup = 5
        o.checkpointEvery = 0
        o.pad = 0
        return o
    }

    func testAQwen2VLFolderTrainsAGeneratorWhoseExportGenerates() throws {
        let backbone = try TinyQwen2VLBackbone.folder("tiny-a", in: dir)
        // tiny-a: 2 layers, 1 K/V head of 12, θ 1000, mrope_section [2, 2, 2] (not the default split [1, 2, 3]).
        let o = try options(backbone: backbone, steps: 120, shape: GeneratorShape(groups: 2, width: 16, mlpWidth: 32, queryHeads: 2), name: "a")
        var said: [String] = []
        let result = try TextToImageTraining.run(o, report: { said.append($0) })

        // Each class phrase was prefilled once, through the Qwen2-VL backbone, into the run's prompt table.
        XCTAssertTrue(said.contains { $0.contains("prompt caches: 2 distinct prompts (of 2 texts") }, said.joined(separator: "\n"))
        let losses = TrainingLog.series(in: result.log, x: "step", y: "loss").map(\.1)
        XCTAssertEqual(losses.count, 120)
        XCTAssertTrue(losses.allSatisfy(\.isFinite))
        let first = losses.prefix(20).reduce(0, +) / 20, last = losses.suffix(20).reduce(0, +) / 20
        XCTAssertLessThan(last, 0.6 * first, "the loss falls on four fixed latents: first 20 steps \(first), last 20 \(last)")

        // The export: the backbone's geometry and M-RoPE, and it reloads and generates.
        let pipeline = try TextToImagePipeline.load(directory: result.output)
        let c = pipeline.generator.configuration
        XCTAssertEqual([c.layerCount, c.groups, c.kvHeads, c.headDim, c.queryHeads], [2, 2, 1, 12, 2])
        XCTAssertEqual(c.mropeSections, [2, 2, 2], "image positions use the backbone's mrope_section")
        XCTAssertEqual(c.ropeTheta, 1000)
        XCTAssertNil(c.backboneLayers, "every layer, in order: the default pairing is not written")
        XCTAssertTrue(pipeline.prompts.backbone is Qwen2VLModel)
        XCTAssertEqual(pipeline.manifest.classPhrases, [["bag"], ["shoe"]])
        let images = try pipeline.generate(prompts: ["bag", "shoe"], settings: pipeline.settings(steps: 4, seed: 1))
        XCTAssertEqual(images.shape, [2, 1, 8, 8])
        XCTAssertTrue(images.toArray().allSatisfy(\.isFinite))
    }

    /// The image tokens take the M-RoPE positions Qwen2-VL itself gives an image that follows the
    /// prompt (transformers' get_rope_index), rotated with the backbone's sections and θ.
    func testImagePositionsAreTheBackbonesOwnForAnImageAfterThePrompt() throws {
        let backbone = try Backbone.load(try TinyQwen2VLBackbone.folder("tiny-b", in: dir).path)
        let qwen = try XCTUnwrap(backbone.model as? Qwen2VLModel)
        let c = try GeneratorConfiguration(backbone: "tiny-b", geometry: BackboneGeometry(backbone.promptBackbone), latentShape: [2, 3, 4],
                                           shape: GeneratorShape(groups: 3, width: 16, mlpWidth: 16))
        XCTAssertEqual(c.mropeSections, [1, 4, 2])
        XCTAssertNotEqual(GeneratorConfiguration.defaultSections(headDim: c.headDim), [1, 4, 2], "the test would not tell them apart")
        let prompt = 5
        let tokens = Array(repeating: 3, count: prompt) + Array(repeating: qwen.configuration.imageTokenID, count: 12)
        let (streams, _) = try Qwen2VLRopeIndex.compute(tokens: tokens, grids: [Qwen2VLImageGrid(t: 1, h: 6, w: 8)],
                                                       imageTokenID: qwen.configuration.imageTokenID, mergeSize: 2)
        let image = streams.map { Array($0.suffix(12)) }
        let t = qwen.configuration.text
        let reference = Rotary.multimodalTables(positions: image, sections: t.mropeSection, headDim: t.headDim, theta: t.ropeTheta)
        let ours = LatentPatches.rotaryTables(promptLengths: [prompt], gridHeight: 3, gridWidth: 4, headDim: c.headDim,
                                              theta: c.ropeTheta, sections: c.mropeSections)
        XCTAssertEqual(ours.cos.toArray(), reference.cos.toArray())
        XCTAssertEqual(ours.sin.toArray(), reference.sin.toArray())
    }

    /// `--backbone-layers every:2` on a 3-layer backbone: 2 generation layers read backbone layers 0
    /// and 2; generator.json records it, the reloaded pipeline honours it, and the keys and values of
    /// layer 1 do not reach the velocity.
    func testASubsetOfBackboneLayersIsRecordedAndOnlyTheirKeysAndValuesAreRead() throws {
        let backbone = try TinyQwen2VLBackbone.folder("tiny-b", in: dir)
        let shape = GeneratorShape(groups: 2, width: 16, mlpWidth: 32, backboneLayers: .every(2))
        var said: [String] = []
        let result = try TextToImageTraining.run(try options(backbone: backbone, steps: 3, shape: shape, name: "b"), report: { said.append($0) })
        XCTAssertTrue(said.contains("generation layers read backbone layers 0, 2 of 3"), said.joined(separator: "\n"))
        let pipeline = try TextToImagePipeline.load(directory: result.output)
        let c = pipeline.generator.configuration
        XCTAssertEqual(c.backboneLayers, [0, 2])
        XCTAssertEqual(c.layerCount, 2)
        let saved = try JSONSerialization.jsonObject(with: Data(contentsOf: result.output.appendingPathComponent("generator.json"))) as? [String: Any]
        XCTAssertEqual(saved?["backbone_layers"] as? [Int], [0, 2])

        // The trained generator with random gates and heads (so every path carries signal).
        let model = pipeline.generator
        randomizeParameters(model, seed: 11, std: 0.2)
        let cache = try pipeline.prompts.encode(try pipeline.tokens(for: "bag"))
        XCTAssertEqual(cache.layerCount, 3, "the prompt cache holds every backbone layer")
        var g = RandomGenerator(seed: 2)
        let x = Tensor.normal([1, c.latentChannels, c.latentHeight, c.latentWidth], generator: &g)
        func velocity(_ cache: PromptCache, group: Int) -> [Float] { model.velocity(x, t: [group == 0 ? 0.2 : 0.7], prompt: cache, group: group).toArray() }
        func perturbed(layer: Int) -> PromptCache {
            var keys = cache.keys, values = cache.values
            keys[layer] = keys[layer] + Tensor.normal(keys[layer].shape, generator: &g)
            values[layer] = values[layer] * 3
            return PromptCache(keys: keys, values: values, lengths: cache.lengths)
        }
        for group in 0..<2 {
            XCTAssertEqual(velocity(perturbed(layer: 1), group: group), velocity(cache, group: group), "backbone layer 1 is not paired")
        }
        XCTAssertNotEqual(velocity(perturbed(layer: 0), group: 0), velocity(cache, group: 0), "group 0's layer reads backbone layer 0")
        XCTAssertNotEqual(velocity(perturbed(layer: 2), group: 1), velocity(cache, group: 1), "group 1's layer reads backbone layer 2")
        XCTAssertEqual(velocity(perturbed(layer: 2), group: 0), velocity(cache, group: 0), "group 0 does not run the layer that reads 2")
    }
}
