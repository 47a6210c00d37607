import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor

/// The autoencoder latents of a whole training set, computed once (posterior means, scaled for the
/// generator) and cached in a safetensors file that records which autoencoder weights made them.
public enum LatentCache {
    /// Latents [N, C, H, W] of `dataset`'s images (converted to the autoencoder's channels, bordered by
    /// `pad` pixels, in [−1, 1]), read from `cache` when it was made by the same autoencoder weights,
    /// padding and item count, else encoded and written there.
    public static func latents(autoencoder vae: AutoencoderKL, folder vaeFolder: URL, dataset: any Dataset, pad: Int, cache: URL,
                               report: (String) -> Void) throws -> Tensor {
        let weights = try SHA256.hash(fileAt: vaeFolder.appendingPathComponent("diffusion_pytorch_model.safetensors").path)
        let key = "\(weights) pad \(pad) items \(dataset.count) scale \(vae.configuration.scalingFactor) shift \(vae.configuration.shiftFactor ?? 0)"
        if FileManager.default.fileExists(atPath: cache.path),
           let file = try? Safetensors.read(contentsOf: cache), file.metadata["source"] == key, let t = file.tensors["latents"] {
            report("latents: \(t.shape) from \(cache.path)")
            return t.toFloat32().contiguous()
        }
        let loader = try DataLoader(dataset: dataset, options: ImageDataSource.loaderOptions(
            batchSize: 200, shuffle: false, seed: 0, pad: pad, channels: vae.configuration.inChannels))
        var parts: [Tensor] = []
        var progress = TrainingProgress(total: dataset.count, label: "encoding latents")
        var done = 0
        while done < dataset.count {
            let b = try loader.next()
            let x = Tensor(b.pixels, shape: [b.count, b.channels, b.height, b.width])
            try vae.validateImages(x)
            parts.append(withoutGradient { vae.scaledLatent(vae.encode(x).mean) }.contiguous())
            done += b.count
            progress.update(step: done, fields: [])
        }
        let all = Tensor.concat(parts, axis: 0).contiguous()
        try Safetensors.write(["latents": all], metadata: ["source": key], to: cache)
        return all
    }
}
