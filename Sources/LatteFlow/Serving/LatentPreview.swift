import LatteFormats
import LatteModels
import LatteTensor

/// A cheap stand-in for the autoencoder's decoder, for progress previews: every output pixel is an
/// affine function of the latent vector at its position,
///
///     image[o, y, x] = bias[o] + Σ_c weights[o, c] · z[c, y / f, x / f]     (f = the downsampling factor)
///
/// i.e. the latent grid upsampled nearest-neighbour to the image size, then a per-pixel linear map from
/// the latent channels to the image channels (1 grey or 3 RGB), then the model's crop. Costs
/// C·O multiply-adds per pixel instead of a decoder pass.
///
/// Fitted once per model (`fit`) by ordinary least squares on latents like the ones previews show:
/// `samples` latents drawn N(0, 1) in the generator's scaled latent space are decoded, the images
/// (clamped to [−1, 1]) encoded again (`latentSamples`), which moves them onto the autoencoder's own
/// latents; those are decoded by the real decoder, and every decoded pixel is one observation
/// (features: its cell's latent vector and a constant 1; targets: its O values). The (C+1)×(C+1) normal equations are accumulated
/// and solved in Float64 (Gaussian elimination with partial pivoting, a 1e-9-relative ridge against
/// singular systems). The fit is a few decodes at start-up; the map itself is C+1 numbers per channel.
public struct LatentPreview: Equatable, Sendable {
    public let latentChannels: Int
    public let imageChannels: Int
    /// weights[o · latentChannels + c].
    public let weights: [Float]
    public let bias: [Float]
    /// Image pixels per latent cell along each axis.
    public let factor: Int
    /// Pixels cut from each side after mapping (the model folder's `crop`).
    public let crop: Int

    public init(latentChannels: Int, imageChannels: Int, weights: [Float], bias: [Float], factor: Int, crop: Int) {
        precondition(weights.count == latentChannels * imageChannels && bias.count == imageChannels && factor >= 1 && crop >= 0,
                     "latent preview: \(weights.count) weights and \(bias.count) biases for \(latentChannels) → \(imageChannels) channels, factor \(factor)")
        (self.latentChannels, self.imageChannels, self.weights, self.bias, self.factor, self.crop) =
            (latentChannels, imageChannels, weights, bias, factor, crop)
    }

    /// Fits the map to `autoencoder`'s decoder on `samples` random latents [C, height, width] (seeded).
    public static func fit(autoencoder: any LatentAutoencoder, latentChannels c: Int, height h: Int, width w: Int,
                           crop: Int = 0, samples: Int = 4, seed: UInt64 = 0x5EE) -> LatentPreview {
        precondition(samples >= 1, "fitting a latent preview needs at least one sample")
        let z = latentSamples(autoencoder: autoencoder, count: samples, latentChannels: c, height: h, width: w, seed: seed)
        let decoded = withoutGradient { autoencoder.decodeScaled(z) }.contiguous()
        let (o, bigH, bigW) = (decoded.dim(1), decoded.dim(2), decoded.dim(3))
        precondition(bigH % h == 0 && bigW % w == 0 && bigH / h == bigW / w,
                     "the decoder maps \(h)×\(w) latents to \(bigH)×\(bigW) images: not one integer factor")
        let f = bigH / h, p = c + 1
        var ata = [Double](repeating: 0, count: p * p), aty = [Double](repeating: 0, count: p * o)
        let zv = z.toArray(), yv = decoded.toArray()
        var phi = [Double](repeating: 1, count: p)
        for s in 0..<samples {
            for ly in 0..<h {
                for lx in 0..<w {
                    for ch in 0..<c { phi[ch] = Double(zv[((s * c + ch) * h + ly) * w + lx]) }
                    // Every pixel of this latent cell shares φ: add φφᵀ once per pixel, and the targets summed.
                    var sums = [Double](repeating: 0, count: o)
                    for oc in 0..<o {
                        for y in (ly * f)..<((ly + 1) * f) {
                            for x in (lx * f)..<((lx + 1) * f) { sums[oc] += Double(yv[((s * o + oc) * bigH + y) * bigW + x]) }
                        }
                    }
                    let pixels = Double(f * f)
                    for i in 0..<p {
                        for j in 0..<p { ata[i * p + j] += pixels * phi[i] * phi[j] }
                        for oc in 0..<o { aty[i * o + oc] += phi[i] * sums[oc] }
                    }
                }
            }
        }
        let solution = solveSymmetric(ata, aty, size: p, columns: o)
        var weights = [Float](repeating: 0, count: o * c), bias = [Float](repeating: 0, count: o)
        for oc in 0..<o {
            for ch in 0..<c { weights[oc * c + ch] = Float(solution[ch * o + oc]) }
            bias[oc] = Float(solution[c * o + oc])
        }
        return LatentPreview(latentChannels: c, imageChannels: o, weights: weights, bias: bias, factor: f, crop: crop)
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
        var out = [Float](repeating: 0, count: n * o * outH * outW)
        out.withUnsafeMutableBufferPointer { dst in
            z.withUnsafeBufferPointer { src in
                // One cell's mapped values, then copied to the cell's visible pixels.
                var cell = [Float](repeating: 0, count: o)
                for i in 0..<n {
                    for ly in 0..<h {
                        for lx in 0..<w {
                            for oc in 0..<o {
                                var v = bias[oc]
                                for ch in 0..<c { v += weights[oc * c + ch] * src[((i * c + ch) * h + ly) * w + lx] }
                                cell[oc] = v
                            }
                            let ys = max(ly * factor - crop, 0)..<min((ly + 1) * factor - crop, outH)
                            let xs = max(lx * factor - crop, 0)..<min((lx + 1) * factor - crop, outW)
                            guard !ys.isEmpty, !xs.isEmpty else { continue }
                            for oc in 0..<o {
                                let plane = (i * o + oc) * outH * outW
                                for y in ys { for x in xs { dst[plane + y * outW + x] = cell[oc] } }
                            }
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
    public func fitLatentPreview(samples: Int = 4, seed: UInt64 = 0x5EE) -> LatentPreview {
        let c = generator.configuration
        return LatentPreview.fit(autoencoder: autoencoder, latentChannels: c.latentChannels, height: c.latentHeight,
                                 width: c.latentWidth, crop: manifest.crop, samples: samples, seed: seed)
    }
}
