// Geometry and column unfolding for conv2d.
//
// A batch's output rows are numbered globally (row = image · oh + oy) and processed in chunks: the
// column matrix of a chunk is [c·kh·kw, rows·ow], so one GEMM per group covers many images at once
// (wide enough to keep every core busy on 8×8 latents) and the buffer stays bounded on large images.
// Every helper works on one channel, so callers run channels in parallel without write conflicts.

/// Geometry of one conv2d call.
struct ConvGeometry {
    let n, c, h, w: Int           // input
    let o, kh, kw: Int            // output channels, kernel
    let stride, padding, groups: Int
    var oh: Int { (h + 2 * padding - kh) / stride + 1 }
    var ow: Int { (w + 2 * padding - kw) / stride + 1 }
    var cg: Int { c / groups }    // input channels per group
    var og: Int { o / groups }    // output channels per group
    var colRows: Int { cg * kh * kw }
    /// Output rows of the whole batch.
    var totalRows: Int { n * oh }

    /// Whether the forward pass takes the direct 3×3 kernel: stride 1, padding 1, one group, and at
    /// most `direct3x3MaxChannels` input channels (above that the implicit GEMM measured as fast or
    /// faster, and its packing is a small share of the work). Tests switch it off for A/B.
    var usesDirect3x3: Bool {
        ConvGeometry.direct3x3Enabled && kh == 3 && kw == 3 && stride == 1 && padding == 1 && groups == 1
            && c <= ConvGeometry.direct3x3MaxChannels
    }
    nonisolated(unsafe) static var direct3x3Enabled = true
    nonisolated(unsafe) static var direct3x3MaxChannels = 64

    /// Column-buffer size in floats (32 MB); tests lower it to exercise chunking.
    nonisolated(unsafe) static var columnBudget = 1 << 23

    /// Output rows per chunk, so that the column buffer holds about `budget` floats.
    func chunkRows(budget: Int = ConvGeometry.columnBudget) -> Int {
        Swift.max(1, Swift.min(totalRows, budget / Swift.max(1, c * kh * kw * ow)))
    }

    /// Unfolds input channel `ci` of batch `x` [n, c, h, w] for global output rows r0..<r0+count into
    /// the rows (ci·kh + ky)·kw + kx of `cols`, whose row length is count·ow.
    func im2col(_ x: UnsafePointer<Float>, channel ci: Int, rows r0: Int, count: Int, _ cols: UnsafeMutablePointer<Float>) {
        let width = count * ow
        for ky in 0..<kh {
            for kx in 0..<kw {
                let row = cols + ((ci * kh + ky) * kw + kx) * width
                // Output columns whose input column lies inside the image (a contiguous range).
                let (lo, hi) = validColumns(kx)
                for j in 0..<count {
                    let (i, oy) = (r0 + j).quotientAndRemainder(dividingBy: oh)
                    let iy = oy * stride - padding + ky
                    let dst = row + j * ow
                    if iy < 0 || iy >= h || lo >= hi { fillZero(dst, ow); continue }
                    let src = x + ((i * c + ci) * h + iy) * w
                    fillZero(dst, lo)
                    if stride == 1 {
                        copyFloats(dst + lo, src + (lo - padding + kx), hi - lo)
                    } else {
                        for ox in lo..<hi { dst[ox] = src[ox * stride - padding + kx] }
                    }
                    fillZero(dst + hi, ow - hi)
                }
            }
        }
    }

    /// Adds the rows of `cols` belonging to input channel `ci` back into `dx` [n, c, h, w]: the adjoint
    /// of `im2col`.
    func col2im(_ cols: UnsafePointer<Float>, channel ci: Int, rows r0: Int, count: Int, _ dx: UnsafeMutablePointer<Float>) {
        let width = count * ow
        for ky in 0..<kh {
            for kx in 0..<kw {
                let row = cols + ((ci * kh + ky) * kw + kx) * width
                let (lo, hi) = validColumns(kx)
                if lo >= hi { continue }
                for j in 0..<count {
                    let (i, oy) = (r0 + j).quotientAndRemainder(dividingBy: oh)
                    let iy = oy * stride - padding + ky
                    if iy < 0 || iy >= h { continue }
                    let dst = dx + ((i * c + ci) * h + iy) * w, src = row + j * ow
                    if stride == 1 {
                        // contiguous on both sides: a plain loop the compiler vectorises
                        addFloats(dst + (lo - padding + kx), src + lo, hi - lo)
                    } else {
                        for ox in lo..<hi { dst[ox * stride - padding + kx] += src[ox] }
                    }
                }
            }
        }
    }

    /// Output columns ox with 0 ≤ ox·stride − padding + kx < w, as a half-open range.
    func validColumns(_ kx: Int) -> (Int, Int) {
        // smallest ox with ox·stride ≥ padding − kx; largest with ox·stride ≤ w − 1 + padding − kx
        let need = padding - kx
        let lo = need <= 0 ? 0 : (need + stride - 1) / stride
        let top = w - 1 + padding - kx
        let hi = top < 0 ? 0 : Swift.min(ow, top / stride + 1)
        return (Swift.min(lo, ow), hi)
    }

    /// Copies one output channel's chunk `src` [count·ow] into `out` [n, o, oh, ow], adding `bias`.
    func scatterRows(_ src: UnsafePointer<Float>, channel oc: Int, rows r0: Int, count: Int, into out: UnsafeMutablePointer<Float>, bias: Float) {
        for j in 0..<count {
            let (i, oy) = (r0 + j).quotientAndRemainder(dividingBy: oh)
            let dst = out + ((i * o + oc) * oh + oy) * ow, s = src + j * ow
            for ox in 0..<ow { dst[ox] = s[ox] + bias }
        }
    }

    /// The inverse layout move: one output channel's rows of `g` [n, o, oh, ow] into `dst` [count·ow].
    func gatherRows(_ g: UnsafePointer<Float>, channel oc: Int, rows r0: Int, count: Int, into dst: UnsafeMutablePointer<Float>) {
        for j in 0..<count {
            let (i, oy) = (r0 + j).quotientAndRemainder(dividingBy: oh)
            (dst + j * ow).update(from: g + ((i * o + oc) * oh + oy) * ow, count: ow)
        }
    }
}
