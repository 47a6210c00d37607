import LatteKernels
import LatteTensor

// Inference-only kernels for the FID Inception network. Activations are laid out [C, N, H, W]
// (channel-major across the batch) so that a convolution over the whole batch is one GEMM
// W[O, C·kh·kw] × cols[C·kh·kw, N·OH·OW], and concatenating branches along channels is just
// writing each branch into its own row block of the output.

/// A [C, N, H, W] float32 activation.
struct Activation {
    let data: Tensor
    let c, n, h, w: Int

    init(c: Int, n: Int, h: Int, w: Int) {
        (self.c, self.n, self.h, self.w) = (c, n, h, w)
        data = Tensor.empty([c, n, h, w])
    }

    var pointer: UnsafeMutablePointer<Float> { data.f32 }
    var planeSize: Int { h * w }
    var channelSize: Int { n * h * w }
}

/// Conv2dLayer of the TorchScript port: conv (no bias) → batch norm (eval, no scale, ε = 1e-3) →
/// ReLU, with the batch norm folded into the weights: w' = w / √(var + ε), b' = β − mean / √(var + ε)
/// (times γ when the norm has a scale, as EfficientNet's do).
struct FoldedConv {
    private(set) var weight: Tensor     // [O, C·kh·kw], already scaled
    let bias: Tensor                    // [O]
    private(set) var c: Int
    let o, kh, kw, strideH, strideW, padH, padW: Int
    /// The output is clamped to [lower, upper] after the bias: ReLU (0, ∞) for Inception, ReLU6 (0, 6)
    /// or none (−∞, ∞) for EfficientNet-Lite's expansion and projection convolutions.
    var lower: Float = 0, upper: Float = .infinity

    init(weight w: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, stride: Int, padH: Int, padW: Int, gamma: Tensor? = nil, eps: Float = 1e-3) {
        let wc = w.contiguous()
        (o, c, kh, kw) = (wc.shape[0], wc.shape[1], wc.shape[2], wc.shape[3])
        (strideH, strideW, self.padH, self.padW) = (stride, stride, padH, padW)
        let k = c * kh * kw
        weight = Tensor.empty([o, k])
        bias = Tensor.empty([o])
        let (b, m, v, g) = (beta.contiguous(), mean.contiguous(), variance.contiguous(), gamma?.contiguous())
        withExtendedLifetime((wc, b, m, v, g)) {
            for oc in 0..<o {
                // In double so the folded constants round once.
                let scale = Double(g.map { $0.f32[oc] } ?? 1) / (Double(v.f32[oc]) + Double(eps)).squareRoot()
                let src = wc.f32 + oc * k, dst = weight.f32 + oc * k
                for i in 0..<k { dst[i] = Float(Double(src[i]) * scale) }
                bias.f32[oc] = Float(Double(b.f32[oc]) - Double(m.f32[oc]) * scale)
            }
        }
    }

    /// The same layer for grey input replicated to three channels: the RGB kernels summed.
    func summedOverInputChannels() -> FoldedConv {
        var copy = self
        let k = kh * kw
        let w = Tensor.empty([o, k])
        for oc in 0..<o {
            for i in 0..<k {
                var s: Float = 0
                for ci in 0..<c { s += weight.f32[oc * c * k + ci * k + i] }
                w.f32[oc * k + i] = s
            }
        }
        copy.weight = w
        copy.c = 1
        return copy
    }

    func outputSize(_ x: Activation) -> (h: Int, w: Int) {
        ((x.h + 2 * padH - kh) / strideH + 1, (x.w + 2 * padW - kw) / strideW + 1)
    }

    func callAsFunction(_ x: Activation) -> Activation {
        let (oh, ow) = outputSize(x)
        let out = Activation(c: o, n: x.n, h: oh, w: ow)
        forward(x, into: out.pointer)
        return out
    }

    /// Writes clamp(conv(x) + b, lower, upper) as [O, N, OH, OW] at `dst`.
    func forward(_ x: Activation, into dst: UnsafeMutablePointer<Float>) {
        let cin = c
        precondition(x.c == cin, "conv expects \(cin) channels, got \(x.c)")
        let (oh, ow) = outputSize(x)
        let total = x.n * oh * ow
        let k = cin * kh * kw
        let w = weight
        withExtendedLifetime((w, x.data)) {
            if kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 {
                Gemm.sgemm(transposeA: false, transposeB: false, m: o, n: total, k: k, alpha: 1,
                           a: w.f32, lda: k, b: x.pointer, ldb: total, beta: 0, c: dst, ldc: total)
            } else {
                // im2col in chunks of whole output rows, so the column buffer stays near 16 MiB.
                let rowsTotal = x.n * oh
                let chunkRows = max(1, min(rowsTotal, (4 << 20) / max(1, k * ow)))
                let cols = UnsafeMutablePointer<Float>.allocate(capacity: k * chunkRows * ow)
                defer { cols.deallocate() }
                var q0 = 0
                while q0 < rowsTotal {
                    let rows = min(chunkRows, rowsTotal - q0)
                    im2col(x, firstRow: q0, rows: rows, oh: oh, ow: ow, cols: cols)
                    Gemm.sgemm(transposeA: false, transposeB: false, m: o, n: rows * ow, k: k, alpha: 1,
                               a: w.f32, lda: k, b: cols, ldb: rows * ow, beta: 0, c: dst + q0 * ow, ldc: total)
                    q0 += rows
                }
            }
            let b = bias.f32
            let (lo, hi) = (lower, upper)
            Parallel.forEach(o) { oc in
                let row = dst + oc * total
                let bv = b[oc]
                var i = 0
                let low = SIMD16<Float>(repeating: lo), high = SIMD16<Float>(repeating: hi), bb = SIMD16<Float>(repeating: bv)
                while i + 16 <= total {
                    let v = UnsafeRawPointer(row + i).loadUnaligned(as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(row + i).storeBytes(of: pointwiseMin(pointwiseMax(v + bb, low), high), as: SIMD16<Float>.self)
                    i += 16
                }
                while i < total { row[i] = min(max(row[i] + bv, lo), hi); i += 1 }
            }
        }
    }

    /// cols[(ci·kh + ky)·kw + kx, (q − q0)·OW + ox] = x[ci, n, oy·s − p + ky, ox·s − p + kx] for output
    /// rows q = n·OH + oy in [q0, q0 + rows), zero outside the image.
    private func im2col(_ x: Activation, firstRow q0: Int, rows: Int, oh: Int, ow: Int, cols: UnsafeMutablePointer<Float>) {
        let ncols = rows * ow
        let (h, w, sh, sw, ph, pw) = (x.h, x.w, strideH, strideW, padH, padW)
        let src = x.pointer
        let (n, kh, kw) = (x.n, kh, kw)
        Parallel.forEach(x.c * kh) { task in
            let ci = task / kh, ky = task % kh
            for kx in 0..<kw {
                let rowPtr = cols + ((ci * kh + ky) * kw + kx) * ncols
                // Output columns whose input x lies inside the image: ox·sw − pw + kx ∈ [0, w).
                let lo = max(0, (pw - kx + sw - 1) / sw)
                let hi = min(ow, (w - 1 + pw - kx) / sw + 1)
                for r in 0..<rows {
                    let q = q0 + r
                    let img = q / oh, oy = q % oh
                    let iy = oy * sh - ph + ky
                    let dst = rowPtr + r * ow
                    if iy < 0 || iy >= h || hi <= lo { dst.update(repeating: 0, count: ow); continue }
                    let line = src + ((ci * n + img) * h + iy) * w
                    if lo > 0 { dst.update(repeating: 0, count: lo) }
                    if sw == 1 {
                        dst.advanced(by: lo).update(from: line + (lo - pw + kx), count: hi - lo)
                    } else {
                        var ix = lo * sw - pw + kx
                        for ox in lo..<hi { dst[ox] = line[ix]; ix += sw }
                    }
                    if hi < ow { dst.advanced(by: hi).update(repeating: 0, count: ow - hi) }
                }
            }
        }
    }
}

enum InceptionPooling {
    /// 3×3 max pooling, stride `stride`, padding `pad` (padded cells never win, as torch).
    static func max3x3(_ x: Activation, stride: Int, pad: Int, into dst: UnsafeMutablePointer<Float>) {
        let oh = (x.h + 2 * pad - 3) / stride + 1, ow = (x.w + 2 * pad - 3) / stride + 1
        let (h, w) = (x.h, x.w)
        let src = x.pointer
        Parallel.forEach(x.c * x.n) { plane in
            let s = src + plane * h * w, d = dst + plane * oh * ow
            for oy in 0..<oh {
                let y0 = max(0, oy * stride - pad), y1 = min(h, oy * stride - pad + 3)
                for ox in 0..<ow {
                    let x0 = max(0, ox * stride - pad), x1 = min(w, ox * stride - pad + 3)
                    var m = -Float.infinity
                    for yy in y0..<y1 { for xx in x0..<x1 { m = max(m, s[yy * w + xx]) } }
                    d[oy * ow + ox] = m
                }
            }
        }
    }

    /// 3×3 average pooling, stride 1, padding 1, count_include_pad = False: each output divides by the
    /// number of cells inside the image (4 at corners, 6 on edges, 9 inside), as TF's "SAME" average pool.
    static func average3x3(_ x: Activation) -> Activation {
        let out = Activation(c: x.c, n: x.n, h: x.h, w: x.w)
        let (h, w) = (x.h, x.w)
        let src = x.pointer, dst = out.pointer
        Parallel.forEach(x.c * x.n) { plane in
            let s = src + plane * h * w, d = dst + plane * h * w
            for oy in 0..<h {
                let y0 = max(0, oy - 1), y1 = min(h, oy + 2)
                for ox in 0..<w {
                    let x0 = max(0, ox - 1), x1 = min(w, ox + 2)
                    var sum: Float = 0
                    for yy in y0..<y1 { for xx in x0..<x1 { sum += s[yy * w + xx] } }
                    d[oy * w + ox] = sum / Float((y1 - y0) * (x1 - x0))
                }
            }
        }
        return out
    }

    /// The final 8×8 average pool over an 8×8 map: the mean of each plane → [C, N].
    static func globalAverage(_ x: Activation) -> Tensor {
        let out = Tensor.empty([x.c, x.n])
        let hw = x.h * x.w
        for plane in 0..<(x.c * x.n) {
            let s = x.pointer + plane * hw
            var sum: Float = 0
            for i in 0..<hw { sum += s[i] }
            out.f32[plane] = sum / Float(hw)
        }
        return out
    }
}
