import LatteKernels
import LatteTensor

// Inference-only kernels for the FID Inception network. Activations are laid out [C, N, H, W]
// (channel-major across the batch) so that a convolution over the whole batch is one GEMM
// W[O, C·kh·kw] × cols[C·kh·kw, N·OH·OW], and concatenating branches along channels is just
// writing each branch into its own row block of the output.

/// A [C, N, H, W] float32 activation.
struct Activation {
    let data: Tensor
    /// Where channel 0 starts in `data` (a view of some channels of a larger activation).
    let offset: Int
    let c, n, h, w: Int

    init(c: Int, n: Int, h: Int, w: Int) {
        (self.c, self.n, self.h, self.w) = (c, n, h, w)
        offset = 0
        data = Tensor.empty([c, n, h, w])
    }

    private init(data: Tensor, offset: Int, c: Int, n: Int, h: Int, w: Int) {
        (self.data, self.offset, self.c, self.n, self.h, self.w) = (data, offset, c, n, h, w)
    }

    /// Channels `range` of this activation, sharing its storage: a concatenation's branches write
    /// their own row blocks, so joining them copies nothing.
    func channels(_ range: Range<Int>) -> Activation {
        precondition(range.lowerBound >= 0 && range.upperBound <= c, "channels \(range) of a \(c)-channel activation")
        return Activation(data: data, offset: offset + range.lowerBound * channelSize, c: range.count, n: n, h: h, w: w)
    }

    var pointer: UnsafeMutablePointer<Float> { data.f32 + offset }
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
}

enum InceptionPooling {
    // Both pools reduce the (up to) three input rows of an output row into one row first, then take
    // three neighbours of that row: 3 + 3 operations per output instead of 9 bounds-checked loads.

    /// 3×3 max pooling, stride `stride`, padding `pad` (padded cells never win, as torch).
    static func max3x3(_ x: Activation, stride: Int, pad: Int, into dst: UnsafeMutablePointer<Float>) {
        let oh = (x.h + 2 * pad - 3) / stride + 1, ow = (x.w + 2 * pad - 3) / stride + 1
        let (h, w) = (x.h, x.w)
        let src = x.pointer
        withExtendedLifetime(x.data) {
            Parallel.forEach(x.c * x.n) { plane in
                let s = src + plane * h * w, d = dst + plane * oh * ow
                withUnsafeTemporaryAllocation(of: Float.self, capacity: w) { buffer in
                    let rowMax = buffer.baseAddress!
                    for oy in 0..<oh {
                        let y0 = max(0, oy * stride - pad), y1 = min(h, oy * stride - pad + 3)
                        rowMax.update(from: s + y0 * w, count: w)
                        for yy in (y0 + 1)..<y1 {
                            let r = s + yy * w
                            for i in 0..<w { rowMax[i] = max(rowMax[i], r[i]) }
                        }
                        let out = d + oy * ow
                        for ox in 0..<ow {
                            let x0 = max(0, ox * stride - pad), x1 = min(w, ox * stride - pad + 3)
                            var m = rowMax[x0]
                            for xx in (x0 + 1)..<x1 { m = max(m, rowMax[xx]) }
                            out[ox] = m
                        }
                    }
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
        withExtendedLifetime(x.data) {
            Parallel.forEach(x.c * x.n) { plane in
                let s = src + plane * h * w, d = dst + plane * h * w
                withUnsafeTemporaryAllocation(of: Float.self, capacity: w) { buffer in
                    let rowSum = buffer.baseAddress!
                    for oy in 0..<h {
                        let y0 = max(0, oy - 1), y1 = min(h, oy + 2)
                        rowSum.update(from: s + y0 * w, count: w)
                        for yy in (y0 + 1)..<y1 {
                            let r = s + yy * w
                            for i in 0..<w { rowSum[i] += r[i] }
                        }
                        let rows = Float(y1 - y0)
                        let o = d + oy * w
                        if w == 1 { o[0] = rowSum[0] / rows; continue }
                        o[0] = (rowSum[0] + rowSum[1]) / (2 * rows)
                        let inner = 1 / (3 * rows)
                        for ox in 1..<max(1, w - 1) { o[ox] = (rowSum[ox - 1] + rowSum[ox] + rowSum[ox + 1]) * inner }
                        o[w - 1] = (rowSum[w - 2] + rowSum[w - 1]) / (2 * rows)
                    }
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
