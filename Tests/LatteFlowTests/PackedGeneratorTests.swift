import XCTest
import LatteFlow
import LatteNN
import LatteTensor

/// A generator packed for inference samples the same images bit for bit (every product has at least
/// two rows here: a batch of two with guidance), and refuses to be saved.
final class PackedGeneratorTests: XCTestCase {
    func testPackedGeneratorSamplesTheSameImages() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration(groups: 2))
        randomizeParameters(m, seed: 8)
        let c = m.configuration
        let prompt = PromptCache.stack([randomPrompt(c, length: 3, seed: 9), randomPrompt(c, length: 3, seed: 10)])
        let null = randomPrompt(c, length: 1, seed: 11)
        let noise = Tensor.randomNormal([2, c.latentChannels, c.latentHeight, c.latentWidth], seed: 12)
        let settings = SamplerSettings(steps: 4, solver: .heun, guidance: 2.5, seed: 13)
        let before = try FlowSampler(model: m, settings: settings).sample(prompt: prompt, nullPrompt: null, noise: noise).toArray()
        let linears = m.namedModules().filter { $0.module is Linear }.count
        XCTAssertEqual(m.packLinearWeightsForInference(minimumElements: 1), linears)
        let after = try FlowSampler(model: m, settings: settings).sample(prompt: prompt, nullPrompt: null, noise: noise).toArray()
        XCTAssertEqual(after.map(\.bitPattern), before.map(\.bitPattern))
        XCTAssertThrowsError(try m.saveSafetensors(FileManager.default.temporaryDirectory.appendingPathComponent("never.safetensors")))
    }
}
