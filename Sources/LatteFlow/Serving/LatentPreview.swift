import LatteFormats
import LatteModels
import LatteTensor

/// A cheap stand-in for the autoencoder's decoder, for progress previews: every output pixel is an
/// affine function of the latent vector interpolated at its position,
///
///     image[o, y, x] = bias[o] + Σ_c weights[o, c] · up(z)[c, y, x]
///
/// where up(z) is the latent grid upsampled by the decoder's factor f (bilinear, half-pixel centres as
/// PyTorch's `align_corners=False`, or nearest-neighbour), then the model's crop. Costs about C·O
/// multiply-adds per pixel instead of a decoder pass.
///
/// Fitted once per model (`fit`) by ordinary least squares on latents like the ones previews show:
/// `samples` latents drawn N(0, 1) in the generator's scaled latent space are decoded, the images
/// (clamped to [−1, 1]) encoded again (`latentSamples`), which moves them onto the autoencoder's own
/// latents; those are decoded by the real decoder, and every decoded pixel is one observation
/// (features: up(z) at the pixel and a constant 1; targets: its O values). The (C+1)×(C+1) normal
/// equations are accumulated and solved in Float64 (Gaussian elimination with partial pivoting, a
/// 1e-9-relative ridge against singular systems). The fit is a few decodes at start-up; the map itself
/// is C+1 numbers per image channel.
public struct LatentPreview: Equatable, Sendable {
    public enum Upsampling: String, Sendable { case nearest, bilinear }

    public let latentChannels: Int
    public let imageChannels: Int
    /// weights[o · latentChannels + c].
    public let weights: [Float]
    public let bias: [Float]
    /// Image pixels per latent cell along each axis.
    public let factor: Int
    /// Pixels cut from each side after mapping (the model folder's `crop`).
    public let crop: Int
    public let upsampling: Upsampling

    public init(latentChannels: Int, imageChannels: Int, weights: [Float], bias: [Float], factor: Int, crop: Int,
                upsampling: Upsampling = .bilinear) {
        precondition(weights.count == latentChannels * imageChannels && bias.count == imageChannels && factor >= 1 && crop >= 0,
                     "latent preview: \(weights.count) weights and \(bias.count) biases for \(latentChannels) → \(imageChannels) channels, factor \(factor)")
        (self.latentChannels, self.imageChannels, self.weights, self.bias, self.factor, self.crop) =
            (latentChannels, imageChannels, weights, bias, factor, crop)
        self.upsampling = upsampling
    }

    /// Fits the map to `autoencoder`'s decoder on `samples` latents [C, height, width] (seeded).
    public static func fit(autoencoder: any LatentAutoencoder, latentChannels c: Int, height h: Int, width w: Int,
                           crop: Int = 0, samples: Int = 4, seed: UInt64 = 0x5EE, upsampling: Upsampling = .bilinear) -> LatentPreview {
        precondition(samples >= 1, "fitting a latent preview needs at least one sample")
        let z = latentSamples(autoencoder: autoencoder, count: samples, latentChannels: c, height: h, width: w, seed: seed)
        let decoded = withoutGradient { autoencoder.decodeScaled(z) }.contiguous()
        let (o, bigH, bigW) = (decoded.dim(1), decoded.dim(2), decoded.dim(3))
        precondition(bigH % h == 0 && bigW % w == 0 && bigH / h == bigW / w,
                     "the decoder maps \(h)×\(w) latents to \(bigH)×\(bigW) images: not one integer factor")
        let f = bigH / h, p = c + 1
        var ata = [Double](repeating: 0, count: p * p), aty = [Double](repeating: 0, count: p * o)
        let up = Upsampler(mode: upsampling, factor: f, height: h, width: w)
        let zv = z.toArray(), yv = decoded.toArray()
        var phi = [Float](repeating: 1, count: p)
        for s in 0..<samples {
            for y in 0..<bigH {
                for x in 0..<bigW {
                    up.features(zv, sample: s, channels: c, y: y, x: x, into: &phi)
                    for i in 0..<p {
                        let fi = Double(phi[i])
                        for j in i..<p { ata[i * p + j] += fi * Double(phi[j]) }
                        for oc in 0..<o { aty[i * o + oc] += fi * Double(yv[((s * o + oc) * bigH + y) * bigW + x]) }
                    }
                }
            }
        }
        for i in 0..<p { for j in 0..<i { ata[i * p + j] = ata[j * p + i] } }
        let solution = solveSymmetric(ata, aty, size: p, columns: o)
        var weights = [Float](repeating: 0, count: o * c), bias = [Float](repeating: 0, count: o)
        for oc in 0..<o {
            for ch in 0..<c { weights[oc * c + ch] = Float(solution[ch * o + oc]) }
            bias[oc] = Float(solution[c * o + oc])
        }
        return LatentPreview(latentChannels: c, imageChannels: o, weights: weights, bias: bias, factor: f, crop: crop, upsampling: upsampling)
    }

    /// Scaled latents near the autoencoder's own: N(0, 1) draws, decoded, clamped to [−1, 1], encoded.
    public static func latentSamples(autoencoder: any LatentAutoencoder, count: Int, latentChannels c: Int, height h: Int, width w: Int,
                                     seed: UInt64) -> Tensor {
        var g = RandomGenerator(seed: seed)
        let z = Tensor.normal([count, c, h, w], generator: &g)
        return withoutGradient { autoencoder.encodeScaled(autoencoder.decodeScaled(z).clamped(min: -1, max: 1)) }.contiguous()
    }

    /// Solves (A + ridge·I)·X = B for X [size × columns] (row-major), A symmetric positive semi-definite.
    static func solveSymmetric(_ a: [Double], _ b: [Double], size n: Int, columns m: Int) -> [Double] {
        var a = a, b = b
        let trace = (0..<n).reduce(0.0) { $0 + a[$1 * n + $1] }
        for i in 0..<n { a[i * n + i] += 1e-9 * max(trace / Double(n), 1e-30) }
        for col in 0..<n {
            let pivot = (col..<n).max { abs(a[$0 * n + col]) < abs(a[$1 * n + col]) }!
            if pivot != col {
                for j in 0..<n { a.swapAt(col * n + j, pivot * n + j) }
                for j in 0..<m { b.swapAt(col * m + j, pivot * m + j) }
            }
            let d = a[col * n + col]
            guard d != 0 else { continue }
            for r in 0..<n where r != col {
                let factor = a[r * n + col] / d
                guard factor != 0 else { continue }
                for j in 0..<n { a[r * n + j] -= factor * a[col * n + j] }
                for j in 0..<m { b[r * m + j] -= factor * b[col * m + j] }
            }
        }
        var x = [Double](repeating: 0, count: n * m)
        for i in 0..<n where a[i * n + i] != 0 {
            for j in 0..<m { x[i * m + j] = b[i * m + j] / a[i * n + i] }
        }
        return x
    }

    /// The preview of scaled latents [N, C, h, w]: [N, O, h·f − 2·crop, w·f − 2·crop], in the
    /// decoder's range (about [−1, 1]; not clamped), the geometry `TextToImagePipeline.decode` returns.
    public func decode(_ latents: Tensor) -> Tensor {
        precondition(latents.rank == 4 && latents.dim(1) == latentChannels, "preview of latents \(latents.shape), expected [N, \(latentChannels), h, w]")
        let (n, c, h, w) = (latents.dim(0), latentChannels, latents.dim(2), latents.dim(3))
        let o = imageChannels, outH = h * factor - 2 * crop, outW = w * factor - 2 * crop
        precondition(outH > 0 && outW > 0, "crop \(crop) leaves no pixel of a \(h * factor)×\(w * factor) image")
        let z = latents.contiguous().toArray()
        let up = Upsampler(mode: upsampling, factor: factor, height: h, width: w)
        var out = [Float](repeating: 0, count: n * o * outH * outW)
        var phi = [Float](repeating: 1, count: c + 1)
        out.withUnsafeMutableBufferPointer { dst in
            for i in 0..<n {
                for y in 0..<outH {
                    for x in 0..<outW {
                        up.features(z, sample: i, channels: c, y: y + crop, x: x + crop, into: &phi)
                        for oc in 0..<o {
                            var v = bias[oc]
                            for ch in 0..<c { v += weights[oc * c + ch] * phi[ch] }
                            dst[((i * o + oc) * outH + y) * outW + x] = v
                        }
                    }
                }
            }
        }
        return Tensor(out, shape: [n, o, outH, outW])
    }

    /// 8-bit preview images of scaled latents (rounded as every front end rounds, `ImageTensors.images`).
    public func images(_ latents: Tensor) -> [Image] { ImageTensors.images(decode(latents)) }
}

extension TextToImagePipeline {
    /// The pipeline's preview map, fitted on `samples` random latents of the generator's shape.
    public func fitLatentPreview(samples: Int = 4, seed: UInt64 = 0x5EE, upsampling: LatentPreview.Upsampling = .bilinear) -> LatentPreview {
        let c = generator.configuration
        return LatentPreview.fit(autoencoder: autoencoder, latentChannels: c.latentChannels, height: c.latentHeight,
                                 width: c.latentWidth, crop: manifest.crop, samples: samples, seed: seed, upsampling: upsampling)
    }
}

/// The latent values at an image pixel: nearest cell, or bilinear between the four nearest cell centres
/// (half-pixel centres, edges clamped).
struct Upsampler {
    let mode: LatentPreview.Upsampling
    let factor: Int, height: Int, width: Int

    /// (low index, high index, weight of high) along one axis for image coordinate i of a grid of n cells.
    func taps(_ i: Int, cells n: Int) -> (Int, Int, Float) {
        if mode == .nearest { return (i / factor, i / factor, 0) }
        let u = (Float(i) + 0.5) / Float(factor) - 0.5
        let lo = Int(u.rounded(.down))
        let w = u - Float(lo)
        return (min(max(lo, 0), n - 1), min(max(lo + 1, 0), n - 1), w)
    }

    /// Writes up(z)[·, y, x] of sample s into phi[0..<channels] (phi[channels] stays 1).
    func features(_ z: [Float], sample s: Int, channels c: Int, y: Int, x: Int, into phi: inout [Float]) {
        let (y0, y1, wy) = taps(y, cells: height), (x0, x1, wx) = taps(x, cells: width)
        let plane = height * width
        for ch in 0..<c {
            let base = (s * c + ch) * plane
            let top = z[base + y0 * width + x0] * (1 - wx) + z[base + y0 * width + x1] * wx
            let bottom = z[base + y1 * width + x0] * (1 - wx) + z[base + y1 * width + x1] * wx
            phi[ch] = top * (1 - wy) + bottom * wy
        }
    }
}
