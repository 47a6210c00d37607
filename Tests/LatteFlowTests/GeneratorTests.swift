import XCTest
import LatteFlow
import LatteNN
import LatteTensor

final class GeneratorConfigurationTests: XCTestCase {
    func testValidationNamesTheProblem() {
        var c = tinyConfiguration()
        c.groups = 3
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("groups 3")) }
        c = tinyConfiguration(); c.queryHeads = 3
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("multiple of kv_heads")) }
        c = tinyConfiguration(); c.boundaries = [0, 0.7, 0.6]
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("increasing")) }
        c = tinyConfiguration(); c.patchSize = 3
        XCTAssertThrowsError(try c.validate()) { XCTAssertTrue("\($0)".contains("patches")) }
        XCTAssertNoThrow(try tinyConfiguration().validate())
    }

    func testJSONRoundTripUsesSnakeCaseKeys() throws {
        let c = tinyConfiguration()
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString).json")
        try c.save(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\"layer_count\""))
        XCTAssertTrue(text.contains("\"residual_attention\" : \"pre_softmax\""))
        XCTAssertEqual(try GeneratorConfiguration.load(from: url), c)
        try "{\"backbone\": 3}".write(to: url, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try GeneratorConfiguration.load(from: url)) { XCTAssertTrue("\($0)".contains(url.path)) }
    }

    func testGroupOwnershipLowestLayersOwnNoisiestTimes() {
        let c = tinyConfiguration(groups: 2)
        XCTAssertEqual(c.group(owning: 0), 0)      // t = 0 is pure noise → group 0 (layers 0–1)
        XCTAssertEqual(c.group(owning: 0.49), 0)
        XCTAssertEqual(c.group(owning: 0.5), 1)
        XCTAssertEqual(c.group(owning: 1), 1)
        var custom = tinyConfiguration(groups: 2); custom.boundaries = [0, 0.3, 1]
        XCTAssertEqual(custom.group(owning: 0.35), 1)
    }
}

final class GeneratorModelTests: XCTestCase {
    func testPatchifyRoundTripAndOrder() {
        let z = Tensor((0..<32).map(Float.init), shape: [1, 2, 4, 4])
        let tokens = LatentPatches.patchify(z, patch: 2)
        XCTAssertEqual(tokens.shape, [1, 4, 8])
        // Token 0 = top-left patch: rows 0–1, columns 0–1, values ordered (row, column, channel).
        XCTAssertEqual(Array(tokens.toArray()[0..<8]), [0, 16, 1, 17, 4, 20, 5, 21])
        XCTAssertEqual(LatentPatches.unpatchify(tokens, patch: 2, channels: 2, height: 4, width: 4).toArray(), z.toArray())
    }

    func testUntrainedGeneratorPredictsZeroVelocity() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration())
        let x = Tensor.randomNormal([2, 2, 4, 4], seed: 1)
        let prompt = PromptCache.stack([randomPrompt(m.configuration, length: 3, seed: 2), randomPrompt(m.configuration, length: 5, seed: 3)])
        let v = m.velocity(x, t: [0.1, 0.2], prompt: prompt, group: 0)
        XCTAssertEqual(v.shape, [2, 2, 4, 4])
        XCTAssertTrue(v.toArray().allSatisfy { $0 == 0 }, "zero-initialised heads must give zero velocity")
    }

    /// With every residual gate at zero, residual attention changes nothing: a K = 1 model equals the
    /// plain coupled model with the same weights, bit for bit.
    func testZeroGatesEqualPlainCoupledModel() throws {
        let withGates = try LayerwiseTimestepExperts(tinyConfiguration(groups: 1, residual: .preSoftmax))
        let plain = try LayerwiseTimestepExperts(tinyConfiguration(groups: 1, residual: .off))
        randomizeParameters(plain, seed: 5)
        var weights = plain.parameterTensors()
        for (key, p) in withGates.namedParameters() where key.contains("residual_gate") {
            weights[key] = Tensor.zeros(p.value.shape)
        }
        try withGates.update(parameters: weights, strict: true)
        // Prompts of different lengths make both models take the same (masked, materialised) path.
        let prompt = PromptCache.stack([randomPrompt(plain.configuration, length: 3, seed: 6), randomPrompt(plain.configuration, length: 5, seed: 7)])
        let x = Tensor.randomNormal([2, 2, 4, 4], seed: 8)
        let a = withGates.velocity(x, t: [0.3, 0.9], prompt: prompt, group: 0).toArray()
        let b = plain.velocity(x, t: [0.3, 0.9], prompt: prompt, group: 0).toArray()
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.contains { $0 != 0 })
        // Non-zero gates do change the output (the residual is wired in).
        randomizeParameters(withGates, seed: 9)
        let gated = withGates.velocity(x, t: [0.3, 0.9], prompt: prompt, group: 0).toArray()
        try plain.update(parameters: withGates.parameterTensors().filter { !$0.key.contains("residual_gate") }, strict: true)
        XCTAssertNotEqual(gated, plain.velocity(x, t: [0.3, 0.9], prompt: prompt, group: 0).toArray())
    }

    /// The chain starts at a group's first layer: its scores feed the second layer's gate, so a gate on
    /// layer 1 alone changes the output.
    func testResidualChainStartsAtTheGroupsFirstLayer() throws {
        for mode in [ResidualAttentionMode.preSoftmax, .postSoftmax] {
            let m = try LayerwiseTimestepExperts(tinyConfiguration(groups: 1, residual: mode))
            randomizeParameters(m, seed: 30)
            var weights = m.parameterTensors()
            for (key, p) in m.namedParameters() where key.contains("residual_gate") && !key.hasPrefix("layers.1.") {
                weights[key] = Tensor.zeros(p.value.shape)
            }
            try m.update(parameters: weights, strict: true)
            let prompt = randomPrompt(m.configuration, length: 3, seed: 31), x = Tensor.randomNormal([1, 2, 4, 4], seed: 32)
            let gated = m.velocity(x, t: [0.4], prompt: prompt, group: 0).toArray()
            for (key, p) in m.namedParameters() where key.hasPrefix("layers.1.residual_gate") { weights[key] = Tensor.zeros(p.value.shape) }
            try m.update(parameters: weights, strict: true)
            XCTAssertGreaterThan(maxDifference(gated, m.velocity(x, t: [0.4], prompt: prompt, group: 0).toArray()), 1e-4, "\(mode)")
        }
    }

    /// Post-softmax residual attention with zero gates is plain attention (computed on another path,
    /// so equal within rounding).
    func testPostSoftmaxWithZeroGatesEqualsPlainAttention() throws {
        let post = try LayerwiseTimestepExperts(tinyConfiguration(groups: 1, residual: .postSoftmax))
        let plain = try LayerwiseTimestepExperts(tinyConfiguration(groups: 1, residual: .off))
        randomizeParameters(plain, seed: 40)
        var weights = plain.parameterTensors()
        for (key, p) in post.namedParameters() where key.contains("residual_gate") { weights[key] = Tensor.zeros(p.value.shape) }
        try post.update(parameters: weights, strict: true)
        let prompt = PromptCache.stack([randomPrompt(plain.configuration, length: 3, seed: 41), randomPrompt(plain.configuration, length: 5, seed: 42)])
        let x = Tensor.randomNormal([2, 2, 4, 4], seed: 43)
        let a = post.velocity(x, t: [0.3, 0.9], prompt: prompt, group: 0).toArray()
        let b = plain.velocity(x, t: [0.3, 0.9], prompt: prompt, group: 0).toArray()
        assertClose(a, b, tolerance: 1e-5)
        randomizeParameters(post, seed: 44)
        try plain.update(parameters: post.parameterTensors().filter { !$0.key.contains("residual_gate") }, strict: true)
        XCTAssertGreaterThan(maxDifference(post.velocity(x, t: [0.3, 0.9], prompt: prompt, group: 0).toArray(),
                                           plain.velocity(x, t: [0.3, 0.9], prompt: prompt, group: 0).toArray()), 1e-4)
    }

    func testPaddedPromptRowsEqualUnpaddedOnes() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration())
        randomizeParameters(m, seed: 10)
        let short = randomPrompt(m.configuration, length: 2, seed: 11), long = randomPrompt(m.configuration, length: 6, seed: 12)
        let x = Tensor.randomNormal([1, 2, 4, 4], seed: 13)
        let alone = m.velocity(x, t: [0.7], prompt: short, group: 1).toArray()
        let batched = m.velocity(Tensor.concat([x, x], axis: 0), t: [0.7, 0.7], prompt: PromptCache.stack([short, long]), group: 1)
        let first = Array(batched.toArray()[0..<32])
        for (a, b) in zip(alone, first) { XCTAssertEqual(a, b, accuracy: 1e-5) }
        XCTAssertNotEqual(Array(batched.toArray()[32..<64]), first, "a different prompt must change the velocity")
    }

    /// Central differences along random directions, one per parameter tensor and for the input latent.
    func testWholeGeneratorGradientsMatchFiniteDifferences() throws {
        for mode in [ResidualAttentionMode.preSoftmax, .postSoftmax] { try checkGeneratorGradients(mode) }
    }


    func testLossRoutesSamplesToOwningGroups() throws {
        let m = try LayerwiseTimestepExperts(tinyConfiguration())
        let prompt = PromptCache.stack((0..<4).map { randomPrompt(m.configuration, length: 3, seed: UInt64($0)) })
        let x = Tensor.randomNormal([4, 2, 4, 4], seed: 1), n = Tensor.randomNormal([4, 2, 4, 4], seed: 2)
        let r = FlowMatchingLoss().loss(m, data: x, noise: n, t: [0.1, 0.6, 0.3, 0.2], prompt: prompt)
        XCTAssertEqual(r.perGroup[0]?.count, 3)
        XCTAssertEqual(r.perGroup[1]?.count, 1)
        // An untrained model predicts 0, so the loss is mean‖x1 − x0‖².
        XCTAssertEqual(r.loss.item(), ((x - n).pow(2)).mean().item(), accuracy: 1e-5)
    }
}

final class CopyInitialisationTests: XCTestCase {
    func testCopiesEveryPairedLayerAndRejectsOtherWidths() throws {
        let c = tinyConfiguration()
        let m = try LayerwiseTimestepExperts(c)
        var weights: [String: Tensor] = [:]
        var seed: UInt64 = 0
        func rand(_ s: [Int]) -> Tensor { seed += 1; return Tensor.randomNormal(s, seed: seed) }
        for l in 0..<c.layerCount {
            let p = "model.layers.\(l)"
            weights["\(p).input_layernorm.weight"] = rand([c.width])
            weights["\(p).post_attention_layernorm.weight"] = rand([c.width])
            weights["\(p).self_attn.q_proj.weight"] = rand([c.queryHeads * c.headDim, c.width])
            weights["\(p).self_attn.k_proj.weight"] = rand([c.kvHeads * c.headDim, c.width])
            weights["\(p).self_attn.v_proj.weight"] = rand([c.kvHeads * c.headDim, c.width])
            weights["\(p).self_attn.o_proj.weight"] = rand([c.width, c.queryHeads * c.headDim])
            weights["\(p).mlp.gate_proj.weight"] = rand([c.mlpWidth, c.width])
            weights["\(p).mlp.up_proj.weight"] = rand([c.mlpWidth, c.width])
            weights["\(p).mlp.down_proj.weight"] = rand([c.width, c.mlpWidth])
        }
        XCTAssertEqual(try m.initialiseFromBackbone(weights), 9 * c.layerCount)
        let own = m.parameterTensors()
        XCTAssertEqual(own["layers.3.k_proj.weight"]!.toArray(), weights["model.layers.3.self_attn.k_proj.weight"]!.toArray())
        XCTAssertEqual(own["layers.0.mlp.down_proj.weight"]!.toArray(), weights["model.layers.0.mlp.down_proj.weight"]!.toArray())
        // The modulation stays zero: a copied generator still starts as the identity per layer.
        XCTAssertTrue(own["layers.1.adaLN_modulation.weight"]!.toArray().allSatisfy { $0 == 0 })

        var wide = weights
        wide["model.layers.2.mlp.up_proj.weight"] = rand([c.mlpWidth, c.width + 1])
        XCTAssertThrowsError(try m.initialiseFromBackbone(wide)) { XCTAssertTrue("\($0)".contains("backbone's width")) }
        var qwen = weights
        qwen["model.layers.0.self_attn.q_proj.bias"] = rand([c.queryHeads * c.headDim])
        XCTAssertThrowsError(try m.initialiseFromBackbone(qwen)) { XCTAssertTrue("\($0)".contains("attention_bias")) }
        var withBias = c; withBias.attentionBias = true
        XCTAssertEqual(try LayerwiseTimestepExperts(withBias).initialiseFromBackbone(qwen), 9 * c.layerCount + 1)
    }
}

extension XCTestCase {
    /// Directional derivatives of the flow-matching loss along every parameter against central differences.
    func checkGeneratorGradients(_ mode: ResidualAttentionMode, inputSkip: Bool = false, absolutePositions: Bool = false) throws {
        var c = tinyConfiguration(residual: mode)
        c.inputSkip = inputSkip
        c.absolutePositions = absolutePositions
        let m = try LayerwiseTimestepExperts(c)
        randomizeParameters(m, seed: 20, std: 0.2)
        let prompt = PromptCache.stack([randomPrompt(m.configuration, length: 3, seed: 21), randomPrompt(m.configuration, length: 4, seed: 22)])
        let x1 = Tensor.randomNormal([2, 2, 4, 4], seed: 23), x0 = Tensor.randomNormal([2, 2, 4, 4], seed: 24)
        let t: [Float] = [0.2, 0.8]   // one sample per group: both groups' gradients are checked
        let objective = FlowMatchingLoss()
        func loss() -> Double { Double(withoutGradient { objective.loss(m, data: x1, noise: x0, t: t, prompt: prompt).loss.item() }) }
        let (_, grads) = valueAndGradient(m) { model in objective.loss(model, data: x1, noise: x0, t: t, prompt: prompt).loss }
        var g = RandomGenerator(seed: 25)
        var checked = 0
        for (key, p) in m.namedParameters() {
            guard let grad = grads[key] else { XCTFail("no gradient for \(key)"); continue }
            let base = p.value
            let d = Tensor.normal(base.shape, generator: &g)
            let analytic = Double((grad * d).sum().item())
            let eps: Float = 1e-2
            p.assign(base + d * eps); let up = loss()
            p.assign(base - d * eps); let down = loss()
            p.assign(base)
            let numeric = (up - down) / (2 * Double(eps))
            XCTAssertEqual(analytic, numeric, accuracy: 2e-2 * max(1, abs(numeric)), "\(mode): directional derivative along \(key)")
            if key.contains("residual_gate") || key.contains(".skip.") { XCTAssertGreaterThan(abs(analytic), 1e-6, "\(mode): \(key) takes part") }
            checked += 1
        }
        XCTAssertGreaterThan(checked, 40)
    }
}
