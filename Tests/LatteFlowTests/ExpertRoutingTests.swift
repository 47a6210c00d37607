import XCTest
import LatteFlow
import LatteNN
import LatteTensor

/// The study switches of `latte generate`: `--vanilla` (every layer each step) and `--groups`.
final class ExpertRoutingTests: XCTestCase {
    func testAllLayersRunsTheWholeStackWithTheOwningHead() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration(groups: 2))
        randomizeParameters(m, seed: 1)
        let prompt = randomPrompt(m.configuration, length: 3, seed: 2)
        let sampler = FlowSampler(model: m, settings: SamplerSettings(steps: 6, guidance: 1, seed: 3), routing: .allLayers)
        var heads: [Int] = []
        let before = m.layerCalls
        let x = try sampler.sample(prompt: prompt, nullPrompt: nil) { p in heads.append(p.group); return true }
        XCTAssertEqual(m.layerCalls - before, 6 * 4, "6 steps × all 4 layers")
        XCTAssertEqual(heads, [0, 0, 0, 1, 1, 1])
        // Same as Euler steps through the explicit whole-stack velocity.
        var g = RandomGenerator(seed: 3)
        var y = Tensor.normal([1, 2, 4, 4], generator: &g)
        let grid = FlowSampler.timeGrid(steps: 6, shift: 1, configuration: m.configuration)
        for i in 0..<(grid.count - 1) {
            let v = m.velocity(y, t: [grid[i]], prompt: prompt, layers: 0..<4, head: m.configuration.group(owning: grid[i]))
            y = y + v * (grid[i + 1] - grid[i])
        }
        for (a, b) in zip(x.toArray(), y.toArray()) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        // And it differs from the routed sampler (the routed one skips half the layers).
        let routed = try FlowSampler(model: m, settings: SamplerSettings(steps: 6, guidance: 1, seed: 3)).sample(prompt: prompt, nullPrompt: nil)
        XCTAssertNotEqual(routed.toArray(), x.toArray())
    }

    func testOnlyListedGroupsRunAndOthersGoToTheNearest() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration(groups: 4, layers: 8))
        randomizeParameters(m, seed: 4)
        let prompt = randomPrompt(m.configuration, length: 2, seed: 5)
        let sampler = FlowSampler(model: m, settings: SamplerSettings(steps: 8, guidance: 1, seed: 6), routing: .only([1, 3]))
        var groups: [Int] = []
        let before = m.layerCalls
        let x = try sampler.sample(prompt: prompt, nullPrompt: nil) { p in groups.append(p.group); return true }
        // Owners 0,0,1,1,2,2,3,3 → nearest listed: 1 (0 is closer to 1), 1, 3 (2 is equidistant: the lower, 1), …
        XCTAssertEqual(groups, [1, 1, 1, 1, 1, 1, 3, 3])
        XCTAssertEqual(m.layerCalls - before, 8 * 2, "one group of 2 layers per step")
        // Listing every group is the ordinary routed sampler.
        let all = try FlowSampler(model: m, settings: SamplerSettings(steps: 8, guidance: 1, seed: 6), routing: .only([0, 1, 2, 3]))
            .sample(prompt: prompt, nullPrompt: nil)
        let routed = try FlowSampler(model: m, settings: SamplerSettings(steps: 8, guidance: 1, seed: 6)).sample(prompt: prompt, nullPrompt: nil)
        XCTAssertEqual(all.toArray(), routed.toArray())
        XCTAssertNotEqual(x.toArray(), routed.toArray())
    }

    func testUnknownGroupIsAClearError() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration(groups: 2))
        let s = FlowSampler(model: m, settings: SamplerSettings(steps: 2, guidance: 1), routing: .only([2]))
        XCTAssertThrowsError(try s.sample(prompt: randomPrompt(m.configuration, length: 2, seed: 1), nullPrompt: nil)) {
            XCTAssertTrue("\($0)".contains("group 2 does not exist"), "\($0)")
        }
    }
}
