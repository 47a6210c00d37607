import Foundation
import LatteNN
import LatteTensor

/// diffusers' `AutoencoderDC` (DC-AE, the deep-compression autoencoder of SANA): a deterministic
/// encoder to a latent downsampled 2^(stages − 1) times and a decoder back. Property names are the
/// checkpoint keys (`encoder.…`, `decoder.…`), so a diffusers DC-AE folder loads strictly.
public final class AutoencoderDC: Module {
    public let encoder: DCEncoder
    public let decoder: DCDecoder
    public let configuration: AutoencoderDCConfiguration

    /// Builds the model: random layers (torch's default initialisation) with `LayerMaker(seed:)`,
    /// zero placeholders for loading with `LayerMaker()`. Throws if the configuration is invalid.
    public init(_ configuration: AutoencoderDCConfiguration, maker: inout LayerMaker) throws {
        try configuration.validate(file: "AutoencoderDC configuration")
        self.configuration = configuration
        encoder = DCEncoder(configuration, maker: &maker)
        decoder = DCDecoder(configuration, maker: &maker)
    }

    /// Random model from a seed.
    public convenience init(_ configuration: AutoencoderDCConfiguration, seed: UInt64) throws {
        var maker = LayerMaker(seed: seed)
        try self.init(configuration, maker: &maker)
    }

    /// Loads a diffusers folder (config.json + diffusion_pytorch_model.safetensors) strictly: every
    /// key present, no extra key, every shape equal; errors name the file. BatchNorm's integer
    /// `num_batches_tracked` counters are dropped (they never affect inference).
    public static func load(directory: URL) throws -> AutoencoderDC {
        let configURL = directory.appendingPathComponent("config.json")
        let weightsURL = directory.appendingPathComponent("diffusion_pytorch_model.safetensors")
        let configuration = try AutoencoderDCConfiguration.load(contentsOf: configURL)
        var maker = LayerMaker()
        let model = try AutoencoderDC(configuration, maker: &maker)
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw AutoencoderError("\(weightsURL.path): no such file (a diffusers AutoencoderDC folder holds config.json and diffusion_pytorch_model.safetensors)")
        }
        let tensors = try Safetensors.read(contentsOf: weightsURL).tensors
        let batchNorms = Set(model.namedParameters().compactMap { p -> String? in
            p.key.hasSuffix(".running_mean") ? String(p.key.dropLast("running_mean".count)) : nil
        })
        let kept = tensors.filter { key, _ in
            !(key.hasSuffix(".num_batches_tracked") && batchNorms.contains(String(key.dropLast("num_batches_tracked".count))))
        }
        do { try model.update(parameters: kept, strict: true) } catch var e as ParameterLoadError {
            e.file = weightsURL.path
            throw e
        }
        return model
    }

    /// Writes a diffusers-layout folder (config.json with `_class_name`, diffusion_pytorch_model.safetensors)
    /// that diffusers' `AutoencoderDC.from_pretrained` loads.
    public func save(directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var json = try JSONEncoder().encode(configuration)
        if var object = try JSONSerialization.jsonObject(with: json) as? [String: Any] {
            object["_class_name"] = "AutoencoderDC"
            json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        }
        try json.write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        // torch's BatchNorm2d also stores an int64 `num_batches_tracked`; writing it (as 0) lets
        // diffusers load the folder without reporting newly initialised tensors.
        var tensors = parameterTensors()
        for key in tensors.keys where key.hasSuffix(".running_mean") {
            tensors[String(key.dropLast("running_mean".count)) + "num_batches_tracked"] = Tensor.zeros([]).to(.int64)
        }
        try Safetensors.write(tensors, to: directory.appendingPathComponent("diffusion_pytorch_model.safetensors"))
    }

    /// Spatial downsampling factor of the encoder, 2^(stages − 1) (diffusers' spatial_compression_ratio).
    public var spatialCompressionRatio: Int { 1 << (configuration.encoderBlockOutChannels.count - 1) }

    /// Throws unless `x` is [N, in_channels, H, W] with H and W positive multiples of the compression ratio.
    public func validateImages(_ x: Tensor) throws {
        let c = configuration.inChannels, f = spatialCompressionRatio
        guard x.rank == 4, x.shape[1] == c else {
            throw AutoencoderError("AutoencoderDC.encode expects images [N, \(c), H, W], got \(x.shape)")
        }
        guard x.shape[0] > 0, x.shape[2] > 0, x.shape[3] > 0, x.shape[2] % f == 0, x.shape[3] % f == 0 else {
            throw AutoencoderError("AutoencoderDC.encode: image size \(x.shape[2])×\(x.shape[3]) must be a positive multiple of \(f) (the compression ratio)")
        }
    }

    /// Throws unless `z` is [N, latent_channels, h, w] with a nonzero size.
    public func validateLatents(_ z: Tensor) throws {
        let c = configuration.latentChannels
        guard z.rank == 4, z.shape[1] == c, z.shape[0] > 0, z.shape[2] > 0, z.shape[3] > 0 else {
            throw AutoencoderError("AutoencoderDC.decode expects latents [N, \(c), h, w], got \(z.shape)")
        }
    }

    /// Images [N, in_channels, H, W] → latents [N, latent_channels, H/f, W/f] (unscaled; DC-AE's
    /// encoder is deterministic, there is no distribution to sample).
    public func encode(_ x: Tensor) -> Tensor { encoder(x) }

    /// Latents [N, latent_channels, h, w] (unscaled) → images [N, in_channels, h·f, w·f].
    public func decode(_ z: Tensor) -> Tensor { decoder(z) }

    /// decode(encode(x)), diffusers' forward.
    public func reconstruct(_ x: Tensor) -> Tensor { decode(encode(x)) }

    /// Latent as the generator sees it: z · scaling_factor (DC-AE has no shift).
    public func scaledLatent(_ z: Tensor) -> Tensor { z * configuration.scalingFactor }

    /// Inverse of `scaledLatent`: z / scaling_factor, ready for `decode`.
    public func unscaledLatent(_ scaled: Tensor) -> Tensor { scaled / configuration.scalingFactor }
}
