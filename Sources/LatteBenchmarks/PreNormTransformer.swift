import LatteTensor

/// The transformer benchmark's model: LayerNorm → attention (fused QKV with bias, bidirectional) →
/// residual → LayerNorm → Linear → GELU (erf) → Linear → residual; a final LayerNorm.
struct PreNormTransformer {
    let parameters: [Tensor]
    let heads: Int

    init(parameters: [Tensor], heads: Int) {
        self.parameters = parameters
        self.heads = heads
    }

    init(layers: Int, hidden: Int, heads: Int, mlp: Int, generator: inout RandomGenerator) {
        var p: [Tensor] = []
        func linear(_ out: Int, _ inF: Int) {
            p.append(Tensor.normal([out, inF], std: 1 / Float(inF).squareRoot(), generator: &generator))
            p.append(Tensor.zeros([out]))
        }
        for _ in 0..<layers {
            p += [Tensor.ones([hidden]), Tensor.zeros([hidden])]
            linear(3 * hidden, hidden)
            linear(hidden, hidden)
            p += [Tensor.ones([hidden]), Tensor.zeros([hidden])]
            linear(mlp, hidden)
            linear(hidden, mlp)
        }
        p += [Tensor.ones([hidden]), Tensor.zeros([hidden])]
        self.init(parameters: p, heads: heads)
    }

    func forward(_ x: Tensor) -> Tensor {
        let (b, t, d) = (x.shape[0], x.shape[1], x.shape[2])
        let hd = d / heads
        var h = x
        var i = 0
        func next() -> Tensor { defer { i += 1 }; return parameters[i] }
        let layers = (parameters.count - 2) / 12
        for _ in 0..<layers {
            let n1 = Tensor.layerNorm(h, weight: next(), bias: next(), eps: 1e-5)
            let qkv = Tensor.linear(n1, weight: next(), bias: next()).reshaped([b, t, 3, heads, hd]).permuted([2, 0, 3, 1, 4])
            let q = qkv.sliced(axis: 0, 0..<1).squeezed(0)
            let k = qkv.sliced(axis: 0, 1..<2).squeezed(0)
            let v = qkv.sliced(axis: 0, 2..<3).squeezed(0)
            let a = Tensor.scaledDotProductAttention(query: q, key: k, value: v).output
                .permuted([0, 2, 1, 3]).reshaped([b, t, d])
            h = h + Tensor.linear(a, weight: next(), bias: next())
            let n2 = Tensor.layerNorm(h, weight: next(), bias: next(), eps: 1e-5)
            let m = Tensor.linear(n2, weight: next(), bias: next()).gelu()
            h = h + Tensor.linear(m, weight: next(), bias: next())
        }
        return Tensor.layerNorm(h, weight: next(), bias: next(), eps: 1e-5)
    }
}
