import Foundation
import LatteFormats
import LatteKernels
import LatteTensor

/// EfficientNet-Lite0 (Tan & Le 2019; the Lite variant: ReLU6, no squeeze-excitation, fixed stem and
/// head), inference only, as `scripts/efficientnet_lite0_reference.py` computes it: the frozen image
/// encoder of the default model's vision path (docs/vision.md).
///
/// Convolutions pad as TensorFlow's SAME (the checkpoint was trained in TF): total padding
/// max((⌈n/s⌉ − 1)·s + k − n, 0), the odd pixel after, so a stride-2 layer on an even size pads only at
/// the bottom and right. Batch norms (ε = 1e-3) are folded into the convolutions. Input images in
/// [0, 1] are resized (bilinear, half-pixel centres, as torch's `interpolate(align_corners=False)`) to
/// `inputSize`² and mapped to (255·x − 127)/128, the Lite models' MEAN_RGB 127, STDDEV_RGB 128.
/// Grey images use the stem's kernels summed over colour, the same function as replicating to RGB.
public final class EfficientNetLite {
    /// (kernel, stride, expansion, in, out) of blocks 0…15: repeats 1, 2, 2, 3, 3, 4, 1.
    static let blocks: [(k: Int, s: Int, e: Int, cin: Int, cout: Int)] = {
        var b: [(k: Int, s: Int, e: Int, cin: Int, cout: Int)] = []
        for (k, s, e, cin, cout, n) in [(3, 1, 1, 32, 16, 1), (3, 2, 6, 16, 24, 2), (5, 2, 6, 24, 40, 2), (3, 2, 6, 40, 80, 3),
                                        (5, 1, 6, 80, 112, 3), (5, 2, 6, 112, 192, 4), (3, 1, 6, 192, 320, 1)] {
            for i in 0..<n { b.append((k: k, s: i == 0 ? s : 1, e: e, cin: i == 0 ? cin : cout, cout: cout)) }
        }
        return b
    }()
    /// Channels of the head map `features` returns.
    public static let featureChannels = 1280

    public let inputSize: Int
    private let stem, stemGrey, head: FoldedConv
    private let stages: [(expand: FoldedConv?, depthwise: DepthwiseConv, project: FoldedConv)]

    /// Loads (converting once, if needed) the network from the `efficientnet-lite0` asset.
    public static func load(inputSize: Int, assetCache: AssetCache = AssetCache(), log: (String) -> Void = { _ in }) throws -> EfficientNetLite {
        try EfficientNetLite(weightsFile: try EfficientNetLiteWeights.convertedFile(assetCache: assetCache, log: log), inputSize: inputSize)
    }

    public init(weightsFile url: URL, inputSize: Int) throws {
        guard inputSize >= 32 else { throw TorchArchiveError(file: url.path, "input size \(inputSize) is below 32 (the network downsamples 32×)") }
        self.inputSize = inputSize
        let file = try Safetensors.read(contentsOf: url)
        var used = Set<String>()
        func tensor(_ key: String) throws -> Tensor {
            guard let t = file.tensors[key] else { throw TorchArchiveError(file: url.path, "missing tensor '\(key)'") }
            used.insert(key)
            return t.toFloat32()
        }
        func bn(_ p: String) throws -> (Tensor, Tensor, Tensor, Tensor) {
            (try tensor("\(p).weight"), try tensor("\(p).bias"), try tensor("\(p).running_mean"), try tensor("\(p).running_var"))
        }
        func conv(_ c: String, _ b: String, stride: Int = 1, clamp: (Float, Float)) throws -> FoldedConv {
            let w = try tensor("\(c).weight")
            let (g, beta, mean, variance) = try bn(b)
            var f = FoldedConv(weight: w, beta: beta, mean: mean, variance: variance, stride: stride, padH: 0, padW: 0, gamma: g)
            (f.lower, f.upper) = clamp
            return f
        }
        let relu6: (Float, Float) = (0, 6), linear: (Float, Float) = (-.infinity, .infinity)
        stem = try conv("_conv_stem", "_bn0", stride: 2, clamp: relu6)   // padded by `samePadded` before it runs
        stemGrey = stem.summedOverInputChannels()
        var stages: [(expand: FoldedConv?, depthwise: DepthwiseConv, project: FoldedConv)] = []
        for (i, b) in Self.blocks.enumerated() {
            let p = "_blocks.\(i)."
            var expand: FoldedConv?
            if b.e != 1 { expand = try conv(p + "_expand_conv", p + "_bn0", clamp: relu6) }
            let (g, beta, mean, variance) = try bn(p + "_bn1")
            let dw = DepthwiseConv(weight: try tensor(p + "_depthwise_conv.weight"), gamma: g, beta: beta, mean: mean,
                                   variance: variance, stride: b.s)
            let project = try conv(p + "_project_conv", p + "_bn2", clamp: linear)
            guard dw.c == b.cin * b.e, dw.k == b.k, project.o == b.cout else {
                throw TorchArchiveError(file: url.path, "block \(i): depthwise \(dw.c)×\(dw.k)², projection to \(project.o); EfficientNet-Lite0 has \(b.cin * b.e)×\(b.k)² to \(b.cout)")
            }
            stages.append((expand: expand, depthwise: dw, project: project))
        }
        self.stages = stages
        head = try conv("_conv_head", "_bn1", clamp: relu6)
        if let extra = Set(file.tensors.keys).subtracting(used).sorted().first {
            throw TorchArchiveError(file: url.path, "unexpected tensor '\(extra)'")
        }
    }

    /// The head's spatial map [N, 1280, h, w] (h = w = ⌈inputSize / 32⌉) of images [N, 1 or 3, H, W] in [0, 1].
    public func features(_ images: Tensor) -> Tensor {
        precondition(images.rank == 4 && (images.shape[1] == 1 || images.shape[1] == 3), "images must be [N, 1 or 3, H, W], got \(images.shape)")
        let (n, c) = (images.shape[0], images.shape[1])
        // [N, C, H, W] → [C, N, S, S], resized and normalised.
        let x = Activation(c: c, n: n, h: inputSize, w: inputSize)
        let src = images.contiguous().toFloat32()
        withExtendedLifetime(src) {
            for i in 0..<n {
                for ch in 0..<c {
                    let plane = src.f32 + (i * c + ch) * images.shape[2] * images.shape[3]
                    let dst = x.pointer + (ch * n + i) * inputSize * inputSize
                    BilinearResize.halfPixel(plane, height: images.shape[2], width: images.shape[3], into: dst, height: inputSize, width: inputSize)
                    for j in 0..<(inputSize * inputSize) { dst[j] = (dst[j] * 255 - 127) / 128 }
                }
            }
        }
        let first = c == 1 ? stemGrey : stem
        var a = first(x.samePadded(kernel: 3, stride: 2))
        for (i, stage) in stages.enumerated() {
            let b = Self.blocks[i]
            var h = a
            if let expand = stage.expand { h = expand(a) }
            h = stage.depthwise(h)
            h = stage.project(h)
            if b.s == 1 && b.cin == b.cout { h.add(a) }
            a = h
        }
        a = head(a)
        // [C, N, h, w] → [N, C, h, w]
        let out = Tensor.empty([n, a.c, a.h, a.w])
        let plane = a.h * a.w
        for ch in 0..<a.c {
            for i in 0..<n { (out.f32 + (i * a.c + ch) * plane).update(from: a.pointer + (ch * n + i) * plane, count: plane) }
        }
        return out
    }
}

/// A depthwise k×k convolution with batch norm folded in, then ReLU6, padded as TF SAME.
struct DepthwiseConv {
    let weight: Tensor     // [C, k·k], scaled
    let bias: Tensor       // [C]
    let c, k, stride: Int

    init(weight w: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, stride: Int, eps: Float = 1e-3) {
        let wc = w.contiguous()
        (c, k, self.stride) = (wc.shape[0], wc.shape[3], stride)
        weight = Tensor.empty([c, k * k])
        bias = Tensor.empty([c])
        withExtendedLifetime((wc, gamma, beta, mean, variance)) {
            for ch in 0..<c {
                let scale = Double(gamma.f32[ch]) / (Double(variance.f32[ch]) + Double(eps)).squareRoot()
                for i in 0..<(k * k) { weight.f32[ch * k * k + i] = Float(Double(wc.f32[ch * k * k + i]) * scale) }
                bias.f32[ch] = Float(Double(beta.f32[ch]) - Double(mean.f32[ch]) * scale)
            }
        }
    }

    func callAsFunction(_ x: Activation) -> Activation {
        precondition(x.c == c, "depthwise convolution expects \(c) channels, got \(x.c)")
        let (oh, padTop) = SamePadding.output(x.h, kernel: k, stride: stride)
        let (ow, padLeft) = SamePadding.output(x.w, kernel: k, stride: stride)
        let out = Activation(c: c, n: x.n, h: oh, w: ow)
        let (src, dst, w, b) = (x.pointer, out.pointer, weight.f32, bias.f32)
        let (n, h, wd, k, s) = (x.n, x.h, x.w, self.k, stride)
        withExtendedLifetime((x.data, out.data, weight, bias)) {
            Parallel.forEach(c) { ch in
                let kernel = w + ch * k * k
                for img in 0..<n {
                    let plane = src + (ch * n + img) * h * wd
                    let outPlane = dst + (ch * n + img) * oh * ow
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var sum = b[ch]
                            for ky in 0..<k {
                                let iy = oy * s - padTop + ky
                                if iy < 0 || iy >= h { continue }
                                for kx in 0..<k {
                                    let ix = ox * s - padLeft + kx
                                    if ix < 0 || ix >= wd { continue }
                                    sum += kernel[ky * k + kx] * plane[iy * wd + ix]
                                }
                            }
                            outPlane[oy * ow + ox] = min(max(sum, 0), 6)
                        }
                    }
                }
            }
        }
        return out
    }
}

enum SamePadding {
    /// TF SAME: the output size ⌈n/s⌉ and the padding before (the total's floor half).
    static func output(_ n: Int, kernel k: Int, stride s: Int) -> (size: Int, before: Int) {
        let size = (n + s - 1) / s
        return (size, max((size - 1) * s + k - n, 0) / 2)
    }
}

enum BilinearResize {
    /// torch's `interpolate(mode="bilinear", align_corners=False, antialias=False)` of one plane: source
    /// coordinate (j + ½)·in/out − ½, clamped at 0, neighbours clamped at the edge.
    static func halfPixel(_ src: UnsafePointer<Float>, height h: Int, width w: Int, into dst: UnsafeMutablePointer<Float>, height oh: Int, width ow: Int) {
        func taps(_ j: Int, _ n: Int, _ on: Int) -> (Int, Int, Float) {
            let x = max((Float(j) + 0.5) * Float(n) / Float(on) - 0.5, 0)
            let i0 = min(Int(x), n - 1)
            return (i0, min(i0 + 1, n - 1), x - Float(i0))
        }
        for oy in 0..<oh {
            let (y0, y1, fy) = taps(oy, h, oh)
            for ox in 0..<ow {
                let (x0, x1, fx) = taps(ox, w, ow)
                let top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx
                let bottom = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx
                dst[oy * ow + ox] = top * (1 - fy) + bottom * fy
            }
        }
    }
}

extension Activation {
    /// A copy with TF SAME zero padding for a k×k, stride-s convolution (applied with no padding).
    func samePadded(kernel k: Int, stride s: Int) -> Activation {
        let (oh, top) = SamePadding.output(h, kernel: k, stride: s)
        let (ow, left) = SamePadding.output(w, kernel: k, stride: s)
        let ph = (oh - 1) * s + k, pw = (ow - 1) * s + k
        let out = Activation(c: c, n: n, h: max(ph, h), w: max(pw, w))
        out.pointer.update(repeating: 0, count: out.c * out.n * out.h * out.w)
        withExtendedLifetime((data, out.data)) {
            for p in 0..<(c * n) {
                for y in 0..<h {
                    (out.pointer + (p * out.h + y + top) * out.w + left).update(from: pointer + (p * h + y) * w, count: w)
                }
            }
        }
        return out
    }

    /// Adds `other` (same shape) in place: the residual connection.
    func add(_ other: Activation) {
        precondition(other.c == c && other.n == n && other.h == h && other.w == w, "residual shapes differ")
        withExtendedLifetime((data, other.data)) {
            let count = c * n * h * w
            let (a, b) = (pointer, other.pointer)
            for i in 0..<count { a[i] += b[i] }
        }
    }
}
