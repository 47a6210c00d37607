import LatteTensor
import XCTest
import LatteNN

/// Whole-layer gradients (every parameter and the input) against central finite differences.
/// Each layer's output is reduced to a scalar with fixed random weights R, L = Σ f(x)·R, so every
/// output element contributes a distinct amount. See `DirectionalCheck` for the float32 method.
final class LayerGradientTests: XCTestCase {
    /// Randomises every parameter (norm scales near 1 but not 1) so gradients are generic.
    private func randomize(_ module: Module, seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        for (_, p) in module.namedParameters() {
            let base = p.shape.count == 1 ? Tensor.ones(p.shape) : Tensor.zeros(p.shape)
            p.assign(base + Tensor.normal(p.shape, std: 0.5, generator: &g))
        }
    }

    private func checkLayer(_ name: String, _ module: Module, input: Tensor, file: StaticString = #filePath, line: UInt = #line,
                            _ f: @escaping (Tensor) -> Tensor) {
        randomize(module, seed: 11)
        let outShape = withoutGradient { f(input).shape }
        var rg = RandomGenerator(seed: 12)
        let r = Tensor.normal(outShape, generator: &rg)
        func loss(_ x: Tensor) -> Float { withoutGradient { (f(x) * r).sum().item() } }

        // Analytic gradients of the parameters and of the input, from one backward pass.
        let tape = GradientTape()
        let x = input.requiringGradient()
        let value = tape.record { (f(x) * r).sum() }
        let grads = tape.backward(from: value)
        var check = DirectionalCheck()
        check.check("\(name) input", value: input, analytic: grads[ObjectIdentifier(x.gradSlot!)] ?? .zeros(input.shape),
                    loss: loss, file: file, line: line)
        for (key, p) in module.namedParameters() {
            let original = p.value
            let analytic = grads[ObjectIdentifier(p.slot)] ?? .zeros(p.shape)
            check.check("\(name) \(key)", value: original, analytic: analytic, loss: { v in
                p.assign(v); defer { p.assign(original) }
                return loss(input)
            }, file: file, line: line)
        }
    }

    private func input(_ shape: [Int], seed: UInt64 = 5) -> Tensor { Tensor.randomNormal(shape, seed: seed) }

    func testLinear() {
        var g = RandomGenerator(seed: 1)
        let layer = Linear(6, 5, generator: &g)
        checkLayer("Linear", layer, input: input([2, 3, 6])) { layer($0) }
    }

    func testSwiGLU() {
        var g = RandomGenerator(seed: 2)
        let mlp = SwiGLU(hiddenSize: 6, intermediateSize: 10, generator: &g)
        checkLayer("SwiGLU", mlp, input: input([2, 3, 6])) { mlp($0) }
    }

    func testAttentionWithGroupedHeadsRotaryBiasAndScores() {
        var g = RandomGenerator(seed: 3)
        let attn = Attention(hiddenSize: 8, heads: 4, kvHeads: 2, headDim: 4, qkvBias: true, generator: &g)
        let t = 5
        let rope = Rotary.tables(positions: Array(0..<t), headDim: 4, theta: 10_000)
        let scoreBias = Tensor.randomNormal([1, 4, t, t], seed: 8, std: 0.3)
        // Output and the returned pre-softmax scores both feed the loss (residual attention uses both).
        checkLayer("Attention", attn, input: input([2, t, 8])) { x in
            let (o, s) = attn(x, rotary: rope, mask: .causal, scoreBias: scoreBias, returnScores: true)
            return Tensor.concat([o.reshaped([-1]), s!.reshaped([-1])], axis: 0)
        }
        checkLayer("Attention prefix mask", attn, input: input([1, t, 8], seed: 6)) { x in
            attn(x, rotary: rope, mask: .prefixCausal(2)).output
        }
    }

    func testConv2dStridePaddingGroups() {
        var g = RandomGenerator(seed: 4)
        let conv = Conv2d(4, 6, kernelSize: 3, stride: 2, padding: 1, groups: 2, generator: &g)
        checkLayer("Conv2d", conv, input: input([2, 4, 5, 5])) { conv($0) }
        let pointwise = Conv2d(4, 3, kernelSize: 1, generator: &g)
        checkLayer("Conv2d 1×1", pointwise, input: input([1, 4, 3, 3])) { pointwise($0) }
    }

    func testNorms() {
        let rms = RMSNorm(6)
        checkLayer("RMSNorm", rms, input: input([3, 6])) { rms($0) }
        let ln = LayerNorm(6)
        checkLayer("LayerNorm", ln, input: input([3, 6])) { ln($0) }
        let lnPlain = LayerNorm(6, affine: false)
        checkLayer("LayerNorm without affine", lnPlain, input: input([3, 6])) { lnPlain($0) }
        let gn = GroupNorm(groups: 2, channels: 4)
        checkLayer("GroupNorm", gn, input: input([2, 4, 3, 3])) { gn($0) }
    }

    func testEmbeddingTable() {
        var g = RandomGenerator(seed: 7)
        let emb = Embedding(5, 4, generator: &g)
        let ids = Tensor(indices: [0, 3, 3, 1, 4, 0], shape: [2, 3])
        // The input is ids (not differentiable), so check the table through a function of it alone.
        randomize(emb, seed: 1)
        let r = Tensor.randomNormal([2, 3, 4], seed: 2)
        let (_, grads) = valueAndGradient(emb) { m in (m(ids) * r).sum() }
        var check = DirectionalCheck()
        let original = emb.weight.value
        check.check("Embedding weight", value: original, analytic: grads["weight"]!) { v in
            emb.weight.assign(v); defer { emb.weight.assign(original) }
            return withoutGradient { (emb(ids) * r).sum().item() }
        }
    }
}
