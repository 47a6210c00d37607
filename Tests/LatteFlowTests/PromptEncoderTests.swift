import XCTest
import LatteFlow
import LatteModels
import LatteNN
import LatteTensor

final class PromptEncoderTests: XCTestCase {
    /// A tiny random LLaMA as the frozen backbone: 4 layers, 2 KV heads of 8 (the tiny generator's geometry).
    func tinyBackbone() -> LLaMAModel {
        let c = LLaMAConfiguration(hiddenSize: 32, intermediateSize: 48, layerCount: 4, headCount: 4, kvHeadCount: 2, headDim: 8,
                                   vocabularySize: 50, rmsNormEps: 1e-5, ropeTheta: 100)
        let m = LLaMAModel(configuration: c)
        var g = RandomGenerator(seed: 3)
        for (_, p) in m.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.3, generator: &g)) }
        return m
    }

    func testEachPromptIsPrefilledOnceAndSamplingReusesIt() throws {
        let encoder = PromptEncoder(backbone: tinyBackbone())
        let generator = try LayerwiseTimestepExperts(tinyConfiguration())
        try encoder.check(generator.configuration)
        randomizeParameters(generator, seed: 4)
        let cond = try encoder.encode([5, 9, 13]), null = try encoder.encode([1])
        _ = try encoder.encode([5, 9, 13])
        XCTAssertEqual(encoder.prefills, 2)
        let s = FlowSampler(model: generator, settings: SamplerSettings(steps: 6, guidance: 3, seed: 1))
        _ = try s.sample(prompt: cond, nullPrompt: null)
        XCTAssertEqual(encoder.prefills, 2, "sampling never runs the backbone again")
        let batch = try encoder.encode(batch: [[5, 9, 13], [7, 7], [1]])
        XCTAssertEqual(batch.lengths, [3, 2, 1])
        XCTAssertEqual(encoder.prefills, 3)
    }

    func testPromptKeysAreTheBackbonesOwn() throws {
        let backbone = tinyBackbone()
        let encoder = PromptEncoder(backbone: backbone)
        let cache = try encoder.encode([4, 8, 15, 16])
        let direct = backbone.prefill(tokens: Tensor(indices: [4, 8, 15, 16], shape: [1, 4]))
        XCTAssertEqual(cache.keys[2].toArray(), direct.keys[2].toArray())
        XCTAssertEqual(cache.values[3].toArray(), direct.values[3].toArray())
        XCTAssertEqual(cache.keys[0].shape, [1, 2, 4, 8])
    }

    func testGeometryMismatchIsNamed() throws {
        let encoder = PromptEncoder(backbone: tinyBackbone())
        var c = tinyConfiguration(); c.headDim = 16; c.mropeSections = GeneratorConfiguration.defaultSections(headDim: 16)
        XCTAssertThrowsError(try encoder.check(c)) { XCTAssertTrue("\($0)".contains("K/V heads")) }
        XCTAssertThrowsError(try encoder.encode([])) { XCTAssertTrue("\($0)".contains("empty prompt")) }
    }
}
