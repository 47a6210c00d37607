import Foundation
import LatteFlow
import LatteModels

/// A text-to-image model folder with random weights and fixed seeds, for tests that need a whole
/// pipeline (command line, server) but not a trained model: a generator on SmolLM2-135M's geometry (the
/// pinned `smollm2` backbone; 30 layers, 3 K/V heads of 64) in 5 groups at width 96, and a 3-channel
/// autoencoder (8×8×4 latents → 32×32 RGB) in `autoencoder/`.
public enum TinyTextToImageModel {
    /// Writes the folder; `edit` may change model.json before it is saved (sampler defaults, evaluation).
    public static func write(to model: URL, edit: (inout TextToImageManifest) -> Void = { _ in }) throws {
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let c = GeneratorConfiguration(backbone: "smollm2", layerCount: 30, kvHeads: 3, headDim: 64, width: 96, queryHeads: 3, mlpWidth: 64,
                                       groups: 5, latentChannels: 4, latentHeight: 8, latentWidth: 8, patchSize: 1, ropeTheta: 100_000)
        let generator = try LayerwiseTimestepExperts(c, seed: 1)
        var v = AutoencoderKLConfiguration()
        v.blockOutChannels = [8, 8, 8]
        v.normNumGroups = 4
        v.latentChannels = 4
        let vae = try AutoencoderKL(v, seed: 3)
        var manifest = TextToImageManifest(backbone: "smollm2", autoencoder: "autoencoder", promptStartToken: "<|im_start|>", crop: 0, defaultSteps: 2)
        edit(&manifest)
        try manifest.save(to: model.appendingPathComponent("model.json"))
        try c.save(to: model.appendingPathComponent("generator.json"))
        try generator.saveSafetensors(model.appendingPathComponent("generator.safetensors"))
        try vae.save(directory: model.appendingPathComponent("autoencoder"))
    }
}
