import Foundation

// Rotary position embeddings in the half-split layout of Hugging Face checkpoints: frequency i
// rotates the pair (x[i], x[i + D/2]). Plain 1-D RoPE and Qwen2-VL's multimodal M-RoPE differ only
// in the cos/sin tables; one op applies either.

public enum Rotary {
    /// θ^(−2i/D) for i in 0..<D/2.
    public static func inverseFrequencies(headDim: Int, theta: Float) -> [Float] {
        (0..<(headDim / 2)).map { i in 1 / Foundation.pow(theta, Float(2 * i) / Float(headDim)) }
    }

    /// cos and sin tables [T, D] for 1-D positions.
    public static func tables(positions: [Int], headDim: Int, theta: Float, inverseFrequencies: [Float]? = nil) -> (cos: Tensor, sin: Tensor) {
        let inv = inverseFrequencies ?? Self.inverseFrequencies(headDim: headDim, theta: theta)
        return build(count: positions.count, headDim: headDim) { t, f in Double(positions[t]) * Double(inv[f]) }
    }

    /// M-RoPE tables [T, D]: `positions` holds three streams (temporal, height, width) of T ids;
    /// `sections` (e.g. [16, 24, 24], summing to D/2) says how many frequencies each stream drives,
    /// in order, mirrored in the second half of the head (as Qwen2-VL).
    public static func multimodalTables(positions: [[Int]], sections: [Int], headDim: Int, theta: Float) -> (cos: Tensor, sin: Tensor) {
        precondition(positions.count == sections.count, "M-RoPE needs one position stream per section")
        precondition(sections.reduce(0, +) == headDim / 2, "M-RoPE sections \(sections) must sum to headDim/2 = \(headDim / 2)")
        let inv = inverseFrequencies(headDim: headDim, theta: theta)
        var streamOfFrequency: [Int] = []
        for (s, n) in sections.enumerated() { streamOfFrequency += [Int](repeating: s, count: n) }
        let t = positions[0].count
        return build(count: t, headDim: headDim) { i, f in Double(positions[streamOfFrequency[f]][i]) * Double(inv[f]) }
    }

    private static func build(count: Int, headDim: Int, angle: (Int, Int) -> Double) -> (cos: Tensor, sin: Tensor) {
        let half = headDim / 2
        let c = Tensor.empty([count, headDim]), s = Tensor.empty([count, headDim])
        for t in 0..<count {
            for f in 0..<half {
                let a = angle(t, f)
                let cv = Float(Foundation.cos(a)), sv = Float(Foundation.sin(a))
                c.f32[t * headDim + f] = cv; c.f32[t * headDim + f + half] = cv
                s.f32[t * headDim + f] = sv; s.f32[t * headDim + f + half] = sv
            }
        }
        return (c, s)
    }
}

extension Tensor {
    /// x·cos + rotate_half(x)·sin with rotate_half([a, b]) = [−b, a] over the last dimension.
    /// `cos` and `sin` broadcast against x (typically [T, D] against [B, H, T, D]).
    public func applyingRotary(cos: Tensor, sin: Tensor) -> Tensor {
        let d = dim(-1), half = d / 2
        let x = toFloat32().contiguous()
        let c = cos.toFloat32().expanded(shape).contiguous(), s = sin.toFloat32().expanded(shape).contiguous()
        func rotate(_ src: Tensor, _ adjoint: Bool) -> Tensor {
            let out = Tensor.empty(shape)
            withExtendedLifetime((src, c, s)) {
                let rows = count / d
                parallelRanges(rows, minChunk: 256) { r0, r1 in
                    for r in r0..<r1 {
                        let xr = src.f32 + r * d, cr = c.f32 + r * d, sr = s.f32 + r * d, o = out.f32 + r * d
                        if !adjoint {
                            for j in 0..<half {
                                o[j] = xr[j] * cr[j] - xr[j + half] * sr[j]
                                o[j + half] = xr[j + half] * cr[j + half] + xr[j] * sr[j + half]
                            }
                        } else {
                            // Transpose of the rotation: g·cos + rotate_halfᵀ(g·sin), rotate_halfᵀ([a, b]) = [b, −a].
                            for j in 0..<half {
                                o[j] = xr[j] * cr[j] + xr[j + half] * sr[j + half]
                                o[j + half] = xr[j + half] * cr[j + half] - xr[j] * sr[j]
                            }
                        }
                    }
                }
            }
            return out
        }
        let out = rotate(x, false)
        return Tensor.record(out, [self]) { g in [rotate(g.contiguous(), true)] }
    }
}
