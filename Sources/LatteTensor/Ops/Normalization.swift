import Foundation
import LatteKernels

// RMSNorm, LayerNorm and GroupNorm with hand-written backward passes (one pass over the rows each,
// rather than a chain of recorded elementwise ops).

extension Tensor {
    /// Runs `body(rowStart, rowEnd, partial)` over chunks of rows in parallel, each chunk with its own
    /// zeroed `partialCount`-value accumulator, and returns the accumulators summed.
    ///
    /// The number of chunks depends on the rows only, never on the thread count, so the weight
    /// gradients have the same bits whatever `--threads` is (what lets 1 rank × 2 threads and 2 ranks ×
    /// 1 thread train the same model, docs/distributed.md). It is at most 2, as many as the thread count
    /// gave on the 2-core machine the committed models were trained on, so their runs reproduce.
    static let accumulationChunks = 2

    static func rowChunksAccumulating(rows: Int, cols: Int, partialCount: Int,
                                      _ body: (Int, Int, UnsafeMutablePointer<Float>) -> Void) -> Tensor {
        let chunks = Swift.max(1, Swift.min(accumulationChunks, rows / Swift.max(1, 8192 / Swift.max(cols, 1))))
        let partials = Tensor.zeros([chunks, partialCount])
        Parallel.forEach(chunks) { c in body(rows * c / chunks, rows * (c + 1) / chunks, partials.f32 + c * partialCount) }
        return chunks == 1 ? partials.reshaped([partialCount]) : partials.sum(axes: [0])
    }

    /// x / √(mean(x²) + eps) · weight over the last dimension (LLaMA / Qwen2 RMSNorm).
    public static func rmsNorm(_ x: Tensor, weight: Tensor?, eps: Float) -> Tensor {
        let xc = x.toFloat32().contiguous()
        let cols = xc.dim(-1), rows = xc.count / Swift.max(cols, 1)
        let w = weight?.toFloat32().contiguous()
        precondition(w == nil || w!.count == cols, "rmsNorm: weight has \(w!.count) values for rows of \(cols)")
        let out = Tensor.empty(x.shape)
        let invRMS = Tensor.empty([rows])
        withExtendedLifetime((xc, w)) {
            let wp = w.map { UnsafePointer($0.f32) }
            parallelRanges(rows, minChunk: Swift.max(1, 8192 / Swift.max(cols, 1))) { s, e in
                VectorMath.rmsNormRows(xc.f32 + s * cols, weight: wp, out.f32 + s * cols, rows: e - s, cols: cols, eps: eps,
                                       inverseRMS: invRMS.f32 + s)
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        let xd = xc.detached()
        return Tensor.record(out, inputs) { g in
            let gc = g.contiguous()
            let gx = Tensor.empty(x.shape)
            let gw = withExtendedLifetime((gc, xd, w, invRMS)) {
                rowChunksAccumulating(rows: rows, cols: cols, partialCount: cols) { s, e, dw in
                    VectorMath.rmsNormRowsBackward(xd.f32 + s * cols, weight: w.map { UnsafePointer($0.f32) }, inverseRMS: invRMS.f32 + s,
                                                   gc.f32 + s * cols, gx.f32 + s * cols, dWeight: dw, rows: e - s, cols: cols)
                }
            }
            var grads: [Tensor?] = [gx]
            if let weight { grads.append(gw.reshaped(weight.shape)) }
            return grads
        }
    }

    /// (x − mean) / √(var + eps) · weight + bias over the last dimension (biased variance).
    public static func layerNorm(_ x: Tensor, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let xc = x.toFloat32().contiguous()
        let cols = xc.dim(-1), rows = xc.count / Swift.max(cols, 1)
        let w = weight?.toFloat32().contiguous(), b = bias?.toFloat32().contiguous()
        precondition(w == nil || w!.count == cols, "layerNorm: weight has \(w!.count) values for rows of \(cols)")
        precondition(b == nil || b!.count == cols, "layerNorm: bias has \(b!.count) values for rows of \(cols)")
        let out = Tensor.empty(x.shape)
        let mean = Tensor.empty([rows]), invStd = Tensor.empty([rows])
        withExtendedLifetime((xc, w, b)) {
            let wp = w.map { UnsafePointer($0.f32) }, bp = b.map { UnsafePointer($0.f32) }
            parallelRanges(rows, minChunk: Swift.max(1, 8192 / Swift.max(cols, 1))) { s, e in
                VectorMath.layerNormRows(xc.f32 + s * cols, weight: wp, bias: bp, out.f32 + s * cols, rows: e - s, cols: cols, eps: eps,
                                         mean: mean.f32 + s, inverseStd: invStd.f32 + s)
            }
        }
        var inputs = [x]
        if let weight { inputs.append(weight) }
        if let bias { inputs.append(bias) }
        let xd = xc.detached()
        return Tensor.record(out, inputs) { g in
            let gc = g.contiguous()
            let gx = Tensor.empty(x.shape)
            // One accumulator holds dWeight then dBias.
            let acc = withExtendedLifetime((gc, xd, w, mean, invStd)) {
                rowChunksAccumulating(rows: rows, cols: cols, partialCount: 2 * cols) { s, e, p in
                    VectorMath.layerNormRowsBackward(xd.f32 + s * cols, weight: w.map { UnsafePointer($0.f32) }, mean: mean.f32 + s,
                                                     inverseStd: invStd.f32 + s, gc.f32 + s * cols, gx.f32 + s * cols,
                                                     dWeight: p, dBias: p + cols, rows: e - s, cols: cols)
                }
            }
            var grads: [Tensor?] = [gx]
            if let weight { grads.append(acc.sliced(axis: 0, 0..<cols).reshaped(weight.shape)) }
            if let bias { grads.append(acc.sliced(axis: 0, cols..<(2 * cols)).reshaped(bias.shape)) }
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

    /// silu(groupNorm(x)), as the autoencoders' ResNet blocks and output heads use it.
    ///
    /// When no gradient is being recorded for x, weight or bias (inference, frozen autoencoders), one
    /// pass per (image, group) normalises the group (in cache), applies the affine and SiLU in place:
    /// one read of x and one write, where the composed ops made four full-size tensors (normalised,
    /// scaled, shifted, activated), each freshly allocated and streamed through memory. With a
    /// gradient, the composed ops run (their backward passes are the tested ones).
    public static func groupNormSiLU(_ x: Tensor, groups: Int, weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        let inputs = [x] + [weight, bias].compactMap { $0 }
        if TapeState.recordingTape != nil && inputs.contains(where: { $0.gradSlot != nil }) {
            return groupNorm(x, groups: groups, weight: weight, bias: bias, eps: eps).silu()
        }
        let n = x.shape[0], c = x.shape[1]
        precondition(c % groups == 0, "groupNormSiLU: \(c) channels do not split into \(groups) groups")
        let spatial = x.count / Swift.max(1, n * c), cg = c / groups, len = cg * spatial
        precondition(weight == nil || weight!.count == c, "groupNormSiLU: weight has \(weight!.count) values for \(c) channels")
        precondition(bias == nil || bias!.count == c, "groupNormSiLU: bias has \(bias!.count) values for \(c) channels")
        let xc = x.toFloat32().contiguous(), w = weight?.toFloat32().contiguous(), b = bias?.toFloat32().contiguous()
        let out = Tensor.empty(x.shape)
        withExtendedLifetime((xc, w, b)) {
            parallelRanges(n * groups, minChunk: Swift.max(1, 8192 / Swift.max(len, 1))) { s, e in
                var mean: Float = 0, inverseStd: Float = 0
                for row in s..<e {
                    let src = xc.f32 + row * len, dst = out.f32 + row * len
                    VectorMath.layerNormRows(src, weight: nil, bias: nil, dst, rows: 1, cols: len, eps: eps,
                                             mean: &mean, inverseStd: &inverseStd)
                    let g = row % groups
                    for j in 0..<cg {
                        let ch = g * cg + j
                        let scale = w?.f32[ch] ?? 1, shift = b?.f32[ch] ?? 0
                        if scale != 1 || shift != 0 { scaleAndShift(dst + j * spatial, spatial, scale, shift) }
                    }
                    VectorMath.silu(dst, dst, len)
                }
            }
        }
        return out
    }
}

/// p[i] = p[i] · scale + shift in 8-float vectors.
@inline(__always)
private func scaleAndShift(_ p: UnsafeMutablePointer<Float>, _ n: Int, _ scale: Float, _ shift: Float) {
    let s8 = SIMD8<Float>(repeating: scale), t8 = SIMD8<Float>(repeating: shift)
    var i = 0
    while i + 8 <= n {
        let v = UnsafeRawPointer(p + i).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(p + i).storeBytes(of: v * s8 + t8, as: SIMD8<Float>.self)
        i += 8
    }
    while i < n { p[i] = p[i] * scale + shift; i += 1 }
}
