import Foundation
import LatteKernels

// RMSNorm, LayerNorm and GroupNorm with hand-written backward passes (one pass over the rows each,
// rather than a chain of recorded elementwise ops).

extension Tensor {
    /// x / √(mean(x²) + eps) · weight over the last dimension (LLaMA / Qwen2 RMSNorm).
    public static func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) -> Tensor {
        let xc = x.toFloat32().contiguous()
        let cols = xc.dim(-1), rows = xc.count / Swift.max(cols, 1)
        let w = weight?.toFloat32().contiguous()
        let out = Tensor.empty(x.shape)
        let invRMS = Tensor.empty([rows])
        withExtendedLifetime((xc, w)) {
            let wp = w?.f32
            parallelRanges(rows, minChunk: Swift.max(1, 8192 / Swift.max(cols, 1))) { s, e in
                for r in s..<e {
                    let xr = xc.f32 + r * cols, yr = out.f32 + r * cols
                    var ss: Float = 0
                    for j in 0..<cols { ss += xr[j] * xr[j] }
                    let inv = 1 / (ss / Float(cols) + eps).squareRoot()
                    invRMS.f32[r] = inv
                    if let wp { for j in 0..<cols { yr[j] = xr[j] * inv * wp[j] } } else { for j in 0..<cols { yr[j] = xr[j] * inv } }
                }
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        let xd = xc.detached()
        return Tensor.record(out, inputs) { g in
            let gc = g.contiguous()
            let gx = Tensor.empty(x.shape)
            let gw = Tensor.zeros([cols])
            withExtendedLifetime((gc, xd, w, invRMS)) {
                for r in 0..<rows {
                    let xr = xd.f32 + r * cols, gr = gc.f32 + r * cols, dx = gx.f32 + r * cols
                    let inv = invRMS.f32[r]
                    // y = x·inv·w;  dx = inv·(gw − x̂·mean(gw·x̂)) with x̂ = x·inv, gw = g·w
                    var dot: Float = 0
                    for j in 0..<cols {
                        let gwj = gr[j] * (w?.f32[j] ?? 1)
                        dot += gwj * xr[j] * inv
                    }
                    let mean = dot / Float(cols)
                    for j in 0..<cols {
                        let gwj = gr[j] * (w?.f32[j] ?? 1)
                        let xh = xr[j] * inv
                        dx[j] = inv * (gwj - xh * mean)
                        gw.f32[j] += gr[j] * xh
                    }
                }
            }
            var grads: [Tensor?] = [gx]
            if let weight { grads.append(gw.reshaped(weight.shape)) }
            return grads
        }
    }

    /// (x − mean) / √(var + eps) · weight + bias over the last dimension.
    public static func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let xc = x.toFloat32().contiguous()
        let cols = xc.dim(-1), rows = xc.count / Swift.max(cols, 1)
        let w = weight?.toFloat32().contiguous(), b = bias?.toFloat32().contiguous()
        let out = Tensor.empty(x.shape)
        let stats = Tensor.empty([rows, 2])   // mean, inverse std
        withExtendedLifetime((xc, w, b)) {
            parallelRanges(rows, minChunk: Swift.max(1, 8192 / Swift.max(cols, 1))) { s, e in
                for r in s..<e {
                    let xr = xc.f32 + r * cols, yr = out.f32 + r * cols
                    var sum: Float = 0
                    for j in 0..<cols { sum += xr[j] }
                    let mean = sum / Float(cols)
                    var vs: Float = 0
                    for j in 0..<cols { let d = xr[j] - mean; vs += d * d }
                    let inv = 1 / (vs / Float(cols) + eps).squareRoot()
                    stats.f32[2 * r] = mean; stats.f32[2 * r + 1] = inv
                    for j in 0..<cols {
                        var v = (xr[j] - mean) * inv
                        if let w { v *= w.f32[j] }
                        if let b { v += b.f32[j] }
                        yr[j] = v
                    }
                }
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let xd = xc.detached()
        return Tensor.record(out, inputs) { g in
            let gc = g.contiguous()
            let gx = Tensor.empty(x.shape), gw = Tensor.zeros([cols]), gb = Tensor.zeros([cols])
            withExtendedLifetime((gc, xd, w, stats)) {
                for r in 0..<rows {
                    let xr = xd.f32 + r * cols, gr = gc.f32 + r * cols, dx = gx.f32 + r * cols
                    let mean = stats.f32[2 * r], inv = stats.f32[2 * r + 1]
                    // dx = inv·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with ĝ = g·w
                    var sg: Float = 0, sgx: Float = 0
                    for j in 0..<cols {
                        let gh = gr[j] * (w?.f32[j] ?? 1), xh = (xr[j] - mean) * inv
                        sg += gh; sgx += gh * xh
                        gw.f32[j] += gr[j] * xh
                        gb.f32[j] += gr[j]
                    }
                    sg /= Float(cols); sgx /= Float(cols)
                    for j in 0..<cols {
                        let gh = gr[j] * (w?.f32[j] ?? 1), xh = (xr[j] - mean) * inv
                        dx[j] = inv * (gh - sg - xh * sgx)
                    }
                }
            }
            var grads: [Tensor?] = [gx]
            if let weight { grads.append(gw.reshaped(weight.shape)) }
            if let bias { grads.append(gb.reshaped(bias.shape)) }
            return grads
        }
    }

    /// GroupNorm over [N, C, …]: channels split into `groups`, normalised over (C/groups, …), then a
    /// per-channel affine (as torch.nn.GroupNorm).
    public static func groupNorm(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let n = x.shape[0], c = x.shape[1]
        precondition(c % groups == 0, "groupNorm: \(c) channels do not split into \(groups) groups")
        let spatial = x.count / (n * c)
        // Normalise each group as a LayerNorm row, then apply the per-channel affine.
        let normalized = layerNorm(x.reshaped([n, groups, (c / groups) * spatial]), weight: nil, bias: nil, eps: eps).reshaped(x.shape)
        var affineShape = [1, c]
        affineShape += [Int](repeating: 1, count: x.rank - 2)
        var y = normalized
        if let weight { y = y * weight.reshaped(affineShape) }
        if let bias { y = y + bias.reshaped(affineShape) }
        return y
    }
}
