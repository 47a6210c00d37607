import Foundation
import LatteFormats
import LatteTensor

/// Measurements of a trained autoencoder over a dataset: reconstruction PSNR and latent statistics.
public enum VAEStatistics {
    public struct Reconstruction: Codable, Sendable {
        /// PSNR of the mean squared error over all pixels of all images, on the [0, 1] pixel scale.
        public var psnr_db: Double
        /// Mean of the per-image PSNRs.
        public var mean_image_psnr_db: Double
        public var mse: Double
        public var images: Int
        public var seconds: Double
    }

    public struct Latents: Codable, Sendable {
        public var mean: Float
        public var std: Float
        public var images: Int
    }

    /// Images as `preparation` makes them, in item order, one pass; unreadable images are skipped
    /// into `skipped` (so a pass may hold fewer than `dataset.count` images).
    static func loader(_ dataset: any Dataset, preparation: ImagePreparation, batch: Int, skipped: SkippedFiles) throws -> DataLoader {
        try DataLoader(dataset: dataset, options: preparation.loaderOptions(batchSize: batch, shuffle: false, seed: 0,
                                                                            unreadableImages: .skip(skipped)))
    }

    /// A fixed-size set with a `pad`-pixel zero border, in the model's channels (Fashion-MNIST's form).
    static func padded(_ model: AutoencoderKL, pad: Int) -> ImagePreparation {
        ImagePreparation(pad: pad, channels: model.configuration.inChannels)
    }

    /// Reconstructs the first `images` items (all by default) from the posterior mean, comparing on
    /// the [0, 1] scale. `pad` zero pixels around each image are excluded from the error, so the
    /// figure is the one of the original images.
    public static func reconstruction(_ model: AutoencoderKL, dataset: any Dataset, pad: Int, images: Int? = nil, batch: Int = 100,
                                      onBatch: ((Int) -> Void)? = nil) throws -> Reconstruction {
        try reconstruction(model, dataset: dataset, preparation: padded(model, pad: pad), images: images, batch: batch, onBatch: onBatch)
    }

    /// `reconstruction` on images made by `preparation` (its `pad` border is left out of the error).
    public static func reconstruction(_ model: AutoencoderKL, dataset: any Dataset, preparation: ImagePreparation, images: Int? = nil,
                                      batch: Int = 100, onBatch: ((Int) -> Void)? = nil) throws -> Reconstruction {
        let pad = preparation.pad
        let total = Swift.min(images ?? dataset.count, dataset.count)
        let loader = try loader(dataset, preparation: preparation, batch: batch, skipped: SkippedFiles())
        let start = Date()
        var sum = 0.0, psnrSum = 0.0, pixels = 0, done = 0
        while done < total {
            let b = try loader.next()
            // Skipped images shorten the pass: stop at its end rather than wrap into a second.
            if b.state.epoch > 0 { break }
            let n = Swift.min(b.count, total - done)
            let x = Tensor(Array(b.pixels[0..<(n * b.channels * b.height * b.width)]), shape: [n, b.channels, b.height, b.width])
            try model.validateImages(x)
            let out = withoutGradient { model.reconstruct(x) }.toArray()
            let plane = b.height * b.width
            // One PSNR per image over all its channels (the mean of these is `mean_image_psnr_db`).
            let count = b.channels * (b.height - 2 * pad) * (b.width - 2 * pad)
            for image in 0..<n {
                var e = 0.0
                for c in 0..<b.channels {
                    let base = (image * b.channels + c) * plane
                    for yy in pad..<(b.height - pad) {
                        for xx in pad..<(b.width - pad) {
                            let k = base + yy * b.width + xx
                            // both on [−1, 1]; clamp the output as a saved picture would be
                            let d = Double(Swift.min(1, Swift.max(-1, out[k])) - b.pixels[k]) / 2
                            e += d * d
                        }
                    }
                }
                sum += e
                pixels += count
                psnrSum += 10 * log10(1 / Swift.max(e / Double(count), 1e-12))
            }
            done += n
            onBatch?(done)
        }
        let mse = sum / Double(Swift.max(pixels, 1))
        return Reconstruction(psnr_db: 10 * log10(1 / Swift.max(mse, 1e-12)), mean_image_psnr_db: psnrSum / Double(Swift.max(done, 1)),
                              mse: mse, images: done, seconds: Date().timeIntervalSince(start))
    }

    /// Mean and standard deviation over all elements of the posterior means of the first `images` items.
    public static func latentStatistics(_ model: AutoencoderKL, dataset: any Dataset, pad: Int, images: Int, batch: Int = 100) throws -> Latents {
        try latentStatistics(model, dataset: dataset, preparation: padded(model, pad: pad), images: images, batch: batch)
    }

    /// `latentStatistics` of images made by `preparation` (the one the autoencoder was trained with);
    /// unreadable images are left out and recorded in `skipped`.
    public static func latentStatistics(_ model: AutoencoderKL, dataset: any Dataset, preparation: ImagePreparation, images: Int,
                                        batch: Int = 100, skipped: SkippedFiles = SkippedFiles()) throws -> Latents {
        let total = Swift.min(images, dataset.count)
        let loader = try loader(dataset, preparation: preparation, batch: batch, skipped: skipped)
        var sum = 0.0, squares = 0.0, count = 0, done = 0
        while done < total {
            let b = try loader.next()
            if b.state.epoch > 0 { break }
            let n = Swift.min(b.count, total - done)
            let x = Tensor(Array(b.pixels[0..<(n * b.channels * b.height * b.width)]), shape: [n, b.channels, b.height, b.width])
            let z = withoutGradient { model.encode(x).mean }.toArray()
            for v in z { sum += Double(v); squares += Double(v) * Double(v) }
            count += z.count
            done += n
        }
        let mean = sum / Double(count)
        return Latents(mean: Float(mean), std: Float((squares / Double(count) - mean * mean).squareRoot()), images: done)
    }
}
