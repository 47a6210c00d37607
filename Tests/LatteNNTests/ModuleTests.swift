import Foundation
import LatteTensor
import XCTest
import LatteNN

/// A Qwen2-shaped decoder layer, to check checkpoint naming.
final class DecoderLayer: Module {
    let input_layernorm: RMSNorm
    let self_attn: Attention
    let post_attention_layernorm: RMSNorm
    let mlp: SwiGLU
    let _scratch = Linear(2, 2)   // underscore: not part of the tree

    init(hidden: Int, generator: inout RandomGenerator) {
        input_layernorm = RMSNorm(hidden)
        self_attn = Attention(hiddenSize: hidden, heads: 4, kvHeads: 2, qkvBias: true, generator: &generator)
        post_attention_layernorm = RMSNorm(hidden)
        mlp = SwiGLU(hiddenSize: hidden, intermediateSize: 2 * hidden, generator: &generator)
    }
}

final class TinyDecoder: Module {
    let embed_tokens: Embedding
    let layers: [DecoderLayer]
    let norm: RMSNorm
    let lm_head: Linear?

    init(vocab: Int = 10, hidden: Int = 8, layerCount: Int = 2, seed: UInt64 = 1, tied: Bool = false) {
        var g = RandomGenerator(seed: seed)
        embed_tokens = Embedding(vocab, hidden, generator: &g)
        layers = (0..<layerCount).map { _ in DecoderLayer(hidden: hidden, generator: &g) }
        norm = RMSNorm(hidden)
        lm_head = tied ? nil : Linear(hidden, vocab, bias: false, generator: &g)
    }
}

final class ModuleTests: XCTestCase {
    func testKeysFollowPropertyNamesAndArrays() {
        let model = TinyDecoder()
        let keys = model.namedParameters().map(\.key)
        XCTAssertEqual(keys.first, "embed_tokens.weight")
        XCTAssertEqual(Array(keys[1...12]), [
            "layers.0.input_layernorm.weight",
            "layers.0.self_attn.q_proj.weight", "layers.0.self_attn.q_proj.bias",
            "layers.0.self_attn.k_proj.weight", "layers.0.self_attn.k_proj.bias",
            "layers.0.self_attn.v_proj.weight", "layers.0.self_attn.v_proj.bias",
            "layers.0.self_attn.o_proj.weight",
            "layers.0.post_attention_layernorm.weight",
            "layers.0.mlp.gate_proj.weight", "layers.0.mlp.up_proj.weight", "layers.0.mlp.down_proj.weight",
        ])
        XCTAssertEqual(Array(keys.suffix(2)), ["norm.weight", "lm_head.weight"])
        XCTAssertEqual(Set(keys).count, keys.count, "every key names one parameter")
        XCTAssertFalse(keys.contains { $0.contains("scratch") })
        XCTAssertNil(TinyDecoder(tied: true).parameterDictionary()["lm_head.weight"], "nil optional contributes nothing")
        XCTAssertEqual(model.parameterDictionary()["layers.1.self_attn.k_proj.weight"]?.shape, [4, 8], "GQA: 2 KV heads of 2")
        XCTAssertTrue(model.module(at: "layers.1.self_attn") === model.layers[1].self_attn)
    }

    func testSequentialKeysAndCounts() {
        var g = RandomGenerator(seed: 3)
        let net = Sequential([Linear(4, 8, generator: &g), Activation(.silu), Linear(8, 2, bias: false, generator: &g)])
        XCTAssertEqual(net.namedParameters().map(\.key), ["layers.0.weight", "layers.0.bias", "layers.2.weight"])
        XCTAssertEqual(net.parameterCount(), 4 * 8 + 8 + 8 * 2)
        net.layers[0].freeze()
        XCTAssertEqual(net.parameterCount(trainableOnly: true), 8 * 2)
        XCTAssertEqual(net(Tensor.zeros([5, 4])).shape, [5, 2])
    }

    func testStrictLoadingNamesKeyAndShapes() throws {
        let model = TinyDecoder(seed: 1)
        var good = TinyDecoder(seed: 2).parameterTensors()
        let before = bits(model.embed_tokens.weight.value)

        var missing = good
        missing["layers.1.self_attn.q_proj.bias"] = nil
        XCTAssertThrowsError(try model.update(parameters: missing)) { error in
            let e = error as! ParameterLoadError
            XCTAssertEqual(e.problems, [.missing(key: "layers.1.self_attn.q_proj.bias", expected: [8])])
            XCTAssertTrue("\(e)".contains("missing key 'layers.1.self_attn.q_proj.bias'"), "\(e)")
            XCTAssertTrue("\(e)".contains("[8]"), "\(e)")
        }
        var unexpected = good
        unexpected["layers.2.mlp.up_proj.weight"] = Tensor.zeros([16, 8])
        XCTAssertThrowsError(try model.update(parameters: unexpected)) { error in
            XCTAssertEqual((error as! ParameterLoadError).problems, [.unexpected(key: "layers.2.mlp.up_proj.weight", found: [16, 8])])
            XCTAssertTrue("\(error)".contains("unexpected key 'layers.2.mlp.up_proj.weight' with shape [16, 8]"), "\(error)")
        }
        var mismatch = good
        mismatch["layers.0.mlp.down_proj.weight"] = Tensor.zeros([8, 15])
        XCTAssertThrowsError(try model.update(parameters: mismatch)) { error in
            XCTAssertEqual((error as! ParameterLoadError).problems,
                           [.shapeMismatch(key: "layers.0.mlp.down_proj.weight", expected: [8, 16], found: [8, 15])])
            XCTAssertTrue("\(error)".contains("'layers.0.mlp.down_proj.weight': the module expects [8, 16], the checkpoint has [8, 15]"), "\(error)")
        }
        XCTAssertEqual(bits(model.embed_tokens.weight.value), before, "a failed load changes nothing")

        // Non-strict: missing and unexpected keys are tolerated, shapes still are not.
        try model.update(parameters: unexpected.merging(missing) { a, _ in a }.filter { $0.key != "norm.weight" }, strict: false)
        XCTAssertThrowsError(try model.update(parameters: mismatch, strict: false))

        good["embed_tokens.weight"] = good["embed_tokens.weight"]!.to(.bfloat16)
        try model.update(parameters: good)
        XCTAssertEqual(model.embed_tokens.weight.value.dtype, .bfloat16, "an unpacked parameter keeps the checkpoint's storage")
    }

    func testLoadErrorNamesFile() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("small.safetensors")
        try TinyDecoder(layerCount: 1).saveSafetensors(url)
        XCTAssertThrowsError(try TinyDecoder(layerCount: 2).loadSafetensors(url)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(url.path), text)
            XCTAssertTrue(text.contains("missing key 'layers.1.input_layernorm.weight'"), text)
        }
    }

    func testSaveLoadRoundTripIsBitExact() throws {
        let dir = try temporaryDirectory(self)
        let source = TinyDecoder(seed: 5)
        _ = source.packParameters()   // packed values must save the same way
        source.layers[0].freeze()
        let url = dir.appendingPathComponent("model.safetensors")
        try source.saveSafetensors(url)
        let target = TinyDecoder(seed: 6)
        let arena = target.packParameters()
        try target.loadSafetensors(url)
        for ((k1, p1), (k2, p2)) in zip(source.namedParameters(), target.namedParameters()) {
            XCTAssertEqual(k1, k2)
            XCTAssertEqual(bits(p1.value), bits(p2.value), k1)
        }
        XCTAssertTrue(arena.contains(target.norm.weight), "loading into a packed model keeps the arena views")
        XCTAssertEqual(arena.values.toArray()[arena.entries.last!.offset], target.lm_head!.weight.value.toArray()[0])
    }

    func testFrozenParametersGetNoGradientAndNoArenaSpace() {
        let model = TinyDecoder(seed: 7)
        let total = model.parameterCount()
        model.embed_tokens.freeze()
        model.layers[0].self_attn.freeze()
        let frozen = model.namedParameters().filter { !$0.parameter.isTrainable }.map(\.key)
        XCTAssertEqual(frozen.count, 1 + 7)
        XCTAssertEqual(model.parameterCount(trainableOnly: true),
                       total - model.embed_tokens.weight.count - model.layers[0].self_attn.parameterCount())
        XCTAssertFalse(model.embed_tokens.weight.tensor.requiresGradient)

        let arena = model.packParameters()
        XCTAssertFalse(arena.contains(model.embed_tokens.weight))
        XCTAssertFalse(arena.contains(model.layers[0].self_attn.q_proj.weight))
        XCTAssertTrue(arena.contains(model.layers[1].self_attn.q_proj.weight))
        XCTAssertEqual(arena.entries.map(\.count).reduce(0, +), model.parameterCount(trainableOnly: true))
        XCTAssertLessThan(arena.count, model.parameterCount(trainableOnly: true) + 16 * arena.entries.count)

        let ids = Tensor(indices: [1, 2, 3, 4], shape: [1, 4])
        let loss = valueAndGradient(model, accumulatingInto: arena) { m in forward(m, ids).square().mean() }
        XCTAssertTrue(loss.isFinite)
        let (_, map) = valueAndGradient(model) { m in forward(m, ids).square().mean() }
        for key in frozen { XCTAssertNil(map[key], "frozen \(key) has no gradient") }
        XCTAssertGreaterThan(arena.gradient(forKey: "layers.1.self_attn.q_proj.weight")!.square().sum().item(), 0)
        // The arena and the map agree on trainable gradients.
        assertClose(arena.gradient(forKey: "layers.1.mlp.up_proj.weight")!.toArray(), map["layers.1.mlp.up_proj.weight"]!.toArray(), relative: 1e-5, absolute: 1e-7)
    }

    func testGradientAccumulationOverMicroBatches() {
        let model = TinyDecoder(seed: 8)
        let arena = model.packParameters()
        let a = Tensor(indices: [1, 2, 3, 4, 5, 6], shape: [1, 6]), b = Tensor(indices: [6, 5, 4, 3, 2, 1], shape: [1, 6])
        let both = Tensor(indices: [1, 2, 3, 4, 5, 6, 6, 5, 4, 3, 2, 1], shape: [2, 6])
        valueAndGradient(model, accumulatingInto: arena) { m in forward(m, both).square().mean() }
        let full = arena.gradients.toArray()
        arena.zeroGradients()
        valueAndGradient(model, accumulatingInto: arena) { m in forward(m, a).square().mean() * 0.5 }
        valueAndGradient(model, accumulatingInto: arena) { m in forward(m, b).square().mean() * 0.5 }
        assertClose(arena.gradients.toArray(), full, relative: 1e-4, absolute: 1e-6, "accumulated vs full batch")
    }

    func testFreezingAPackedParameterMakesTheArenaStale() {
        let model = TinyDecoder(seed: 9)
        let arena = model.packParameters()
        XCTAssertNil(arena.staleReason)
        model.norm.freeze()
        XCTAssertNotNil(arena.staleReason)
    }

    func testTiedWeightsArePackedOnce() {
        let m = Pair(w: [Float](repeating: 1, count: 12), b: [1, 2, 3, 4])
        final class Tied: Module { let first: Pair; let second: Pair; init(_ p: Pair) { first = p; second = p } }
        let tied = Tied(m)
        XCTAssertEqual(tied.namedParameters().count, 4)
        XCTAssertEqual(tied.parameterCount(), 16)
        XCTAssertEqual(tied.packParameters().entries.count, 2)
    }
}

/// Embedding → layers (pre-norm residual blocks) → norm → logits; used by several tests.
func forward(_ m: TinyDecoder, _ ids: Tensor) -> Tensor {
    var h = m.embed_tokens(ids)
    let t = ids.shape[1]
    let rope = Rotary.tables(positions: Array(0..<t), headDim: m.layers[0].self_attn.headDim, theta: 10_000)
    for layer in m.layers {
        h = h + layer.self_attn(layer.input_layernorm(h), rotary: rope, mask: .causal).output
        h = h + layer.mlp(layer.post_attention_layernorm(h))
    }
    h = m.norm(h)
    return m.lm_head.map { $0(h) } ?? m.embed_tokens.asLinear(h)
}

extension Tensor {
    func square() -> Tensor { self * self }
}
