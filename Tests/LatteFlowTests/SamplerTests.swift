import XCTest
import LatteFlow
import LatteNN
import LatteTensor

final class SamplerTests: XCTestCase {
    func testTimeGridCoversEveryGroup() {
        let c = tinyConfiguration(groups: 2)
        XCTAssertEqual(FlowSampler.timeGrid(steps: 4, shift: 1, configuration: c), [0, 0.25, 0.5, 0.75, 1])
        // A strong shift crowds the steps near t = 0; the boundary of the starved group is inserted.
        let shifted = FlowSampler.timeGrid(steps: 2, shift: 20, configuration: c)
        XCTAssertEqual(shifted.first, 0); XCTAssertEqual(shifted.last, 1)
        for k in 0..<2 { XCTAssertTrue(shifted.dropLast().contains { c.group(owning: $0) == k }, "group \(k) gets no step in \(shifted)") }
        // SD3 shift: σ′ = sσ/(1 + (s−1)σ); s = 3 at σ = 0.5 gives 0.75, i.e. t = 0.25.
        XCTAssertEqual(FlowSampler.timeGrid(steps: 2, shift: 3, configuration: tinyConfiguration(groups: 1))[1], 0.25, accuracy: 1e-6)
    }

    func testOnlyTheOwningGroupRunsEachStep() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration(groups: 2))
        randomizeParameters(m, seed: 1)
        let sampler = FlowSampler(model: m, settings: SamplerSettings(steps: 6, guidance: 1, seed: 3))
        var groups: [Int] = []
        let before = m.layerCalls
        _ = try sampler.sample(prompt: randomPrompt(m.configuration, length: 3, seed: 2), nullPrompt: nil) { p in groups.append(p.group); return true }
        XCTAssertEqual(groups, [0, 0, 0, 1, 1, 1])
        // 6 steps × 2 layers (one group of M = 2), not 6 × 4.
        XCTAssertEqual(m.layerCalls - before, 12)
    }

    func testDeterministicAndPromptSensitive() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration())
        randomizeParameters(m, seed: 4)
        let c = m.configuration
        let a = randomPrompt(c, length: 3, seed: 5), b = randomPrompt(c, length: 4, seed: 6), null = randomPrompt(c, length: 1, seed: 7)
        for solver in [FlowSolver.euler, .heun] {
            let s = FlowSampler(model: m, settings: SamplerSettings(steps: 4, solver: solver, guidance: 2.5, seed: 11))
            let x1 = try s.sample(prompt: a, nullPrompt: null).toArray()
            let x2 = try s.sample(prompt: a, nullPrompt: null).toArray()
            XCTAssertEqual(x1, x2, "same seed, same image")
            XCTAssertNotEqual(x1, try s.sample(prompt: b, nullPrompt: null).toArray(), "different prompt, different image")
            let other = FlowSampler(model: m, settings: SamplerSettings(steps: 4, solver: solver, guidance: 2.5, seed: 12))
            XCTAssertNotEqual(x1, try other.sample(prompt: a, nullPrompt: null).toArray(), "different seed, different image")
        }
    }

    /// One-group model with a prompt and a null prompt, for checking guided steps by hand.
    func guidanceFixture() throws -> (model: LayerwiseTimestepExperts, cond: PromptCache, null: PromptCache) {
        let m = try LayerwiseTimestepExperts(tinyConfiguration(groups: 1))
        randomizeParameters(m, seed: 8)
        return (m, randomPrompt(m.configuration, length: 3, seed: 9), randomPrompt(m.configuration, length: 1, seed: 10))
    }

    /// The sampler's starting noise for seed 13, as `FlowSampler` draws it.
    func startingNoise() -> Tensor {
        var g = RandomGenerator(seed: 13)
        return Tensor.normal([1, 2, 4, 4], generator: &g)
    }

    func assertClose(_ x: Tensor, _ y: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(x.shape, y.shape, file: file, line: line)
        for (a, b) in zip(x.toArray(), y.toArray()) { XCTAssertEqual(a, b, accuracy: 1e-4, file: file, line: line) }
    }

    func testGuidanceBatchEqualsSeparateEvaluations() throws {
        let (m, cond, null) = try guidanceFixture()
        let w: Float = 4
        let guided = try FlowSampler(model: m, settings: SamplerSettings(steps: 1, guidance: w, seed: 13)).sample(prompt: cond, nullPrompt: null)
        // One Euler step from t = 0 to 1: x1 = x0 + v_u + w·(v_c − v_u), with the same seeded noise.
        let x0 = startingNoise()
        let vc = m.velocity(x0, t: [0], prompt: cond, group: 0), vu = m.velocity(x0, t: [0], prompt: null, group: 0)
        assertClose(guided, x0 + vu + (vc - vu) * w)
    }

    /// Guidance limited to t ∈ 0.5…1: the first of two Euler steps (t = 0) uses the conditional
    /// velocity alone, the second (t = 0.5) the guided one.
    func testGuidanceIntervalGuidesOnlyInsideIt() throws {
        let (m, cond, null) = try guidanceFixture()
        let w: Float = 3
        let settings = SamplerSettings(steps: 2, guidance: w, seed: 13, guidanceInterval: 0.5...1)
        let sampled = try FlowSampler(model: m, settings: settings).sample(prompt: cond, nullPrompt: null)
        let x0 = startingNoise()
        let x1 = x0 + m.velocity(x0, t: [0], prompt: cond, group: 0) * 0.5
        let vc = m.velocity(x1, t: [0.5], prompt: cond, group: 0), vu = m.velocity(x1, t: [0.5], prompt: null, group: 0)
        let expected = x1 + (vu + (vc - vu) * w) * 0.5
        assertClose(sampled, expected)
        // Guided everywhere differs (the first step is guided too).
        let everywhere = try FlowSampler(model: m, settings: SamplerSettings(steps: 2, guidance: w, seed: 13)).sample(prompt: cond, nullPrompt: null)
        XCTAssertGreaterThan(zip(everywhere.toArray(), expected.toArray()).map { abs($0 - $1) }.max()!, 1e-3)
        // An interval outside 0…1 is named.
        let bad = FlowSampler(model: m, settings: SamplerSettings(steps: 2, guidance: w, guidanceInterval: 0.5...1.5))
        XCTAssertThrowsError(try bad.sample(prompt: cond, nullPrompt: null)) { XCTAssertTrue("\($0)".contains("guidance interval")) }
    }

    /// Autoguidance: one Euler step is x0 + v_g + w·(v − v_g), both velocities conditional; no null prompt needed.
    func testAutoguidanceExtrapolatesFromTheGuide() throws {
        let (m, cond, _) = try guidanceFixture()
        let weak = try LayerwiseTimestepExperts(tinyConfiguration(groups: 1))
        randomizeParameters(weak, seed: 21)
        let w: Float = 2.5
        let sampled = try FlowSampler(model: m, settings: SamplerSettings(steps: 1, guidance: 1, seed: 13, guideWeight: w), guide: weak)
            .sample(prompt: cond, nullPrompt: nil)
        let x0 = startingNoise()
        let v = m.velocity(x0, t: [0], prompt: cond, group: 0), vg = weak.velocity(x0, t: [0], prompt: cond, group: 0)
        assertClose(sampled, x0 + vg + (v - vg) * w)
        // A guide with another latent shape is named, not run.
        let other = try LayerwiseTimestepExperts(GeneratorConfiguration(backbone: "test", layerCount: 4, kvHeads: 2, headDim: 8, width: 16,
                                                                         queryHeads: 4, mlpWidth: 24, groups: 1, residualAttention: .preSoftmax,
                                                                         latentChannels: 2, latentHeight: 8, latentWidth: 8, patchSize: 2, ropeTheta: 100))
        XCTAssertThrowsError(try FlowSampler(model: m, settings: SamplerSettings(steps: 1, guidance: 1, guideWeight: w), guide: other).sample(prompt: cond, nullPrompt: nil)) {
            XCTAssertTrue("\($0)".contains("guide"), "\($0)")
        }
    }

    /// Timing the vanilla cost (`.allLayers`) runs every layer of the guide too; otherwise the guide runs
    /// the group owning the time, whatever its group count.
    func testGuideFollowsTheVanillaRouting() throws {
        let (m, cond, _) = try guidanceFixture()
        let weak = try LayerwiseTimestepExperts(tinyConfiguration(groups: 2))
        randomizeParameters(weak, seed: 22)
        let w: Float = 2, x0 = startingNoise(), all = 0..<m.configuration.layerCount
        let settings = SamplerSettings(steps: 1, guidance: 1, seed: 13, guideWeight: w)
        let vanilla = try FlowSampler(model: m, settings: settings, routing: .allLayers, guide: weak).sample(prompt: cond, nullPrompt: nil)
        let v = m.velocity(x0, t: [0], prompt: cond, layers: all, head: 0), vg = weak.velocity(x0, t: [0], prompt: cond, layers: all, head: 0)
        assertClose(vanilla, x0 + vg + (v - vg) * w)
        let owning = try FlowSampler(model: m, settings: settings, guide: weak).sample(prompt: cond, nullPrompt: nil)
        let v0 = m.velocity(x0, t: [0], prompt: cond, group: 0), vg0 = weak.velocity(x0, t: [0], prompt: cond, group: 0)
        assertClose(owning, x0 + vg0 + (v0 - vg0) * w)
        XCTAssertGreaterThan(zip(vanilla.toArray(), owning.toArray()).map { abs($0 - $1) }.max()!, 1e-4, "the two routings differ")
    }

    func testGuidanceWithoutNullPromptIsAClearError() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration())
        let s = FlowSampler(model: m, settings: SamplerSettings(steps: 2, guidance: 3))
        XCTAssertThrowsError(try s.sample(prompt: randomPrompt(m.configuration, length: 2, seed: 1), nullPrompt: nil)) {
            XCTAssertTrue("\($0)".contains("null prompt"))
        }
    }

    /// Four latents with their own prompts: AdamW drives the flow-matching loss down ≥ 10×.
    func testOverfitsFourLatents() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration())
        let c = m.configuration
        let prompts = (0..<4).map { randomPrompt(c, length: 2 + $0, seed: UInt64(30 + $0)) }
        let data = Tensor.randomNormal([4, 2, 4, 4], seed: 40)
        let arena = m.packParameters()
        let optimizer = AdamW(arena: arena, weightDecay: 0)
        let objective = FlowMatchingLoss(timesteps: .uniform)
        var g = RandomGenerator(seed: 41)
        // Evaluate on fixed noise and times so the comparison is not luck of the draw.
        let evalNoise = Tensor.randomNormal([4, 2, 4, 4], seed: 42)
        let evalT: [Float] = [0.1, 0.35, 0.6, 0.85]
        let batch = PromptCache.stack(prompts)
        func evaluate() -> Float { withoutGradient { objective.loss(m, data: data, noise: evalNoise, t: evalT, prompt: batch).loss.item() } }
        let initial = evaluate()
        for _ in 0..<3000 {
            arena.zeroGradients()
            _ = valueAndGradient(m, accumulatingInto: arena) { model in objective(model, data: data, prompts: prompts, generator: &g).loss }
            optimizer.update(learningRate: 2e-3)
        }
        let final = evaluate()
        XCTAssertLessThan(final, initial / 10, "loss \(initial) → \(final)")
    }
}
