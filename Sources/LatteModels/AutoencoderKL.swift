import Foundation
import LatteNN
import LatteTensor

/// diffusers' AutoencoderKL config.json: the file's snake_case keys as coding keys, diffusers' defaults
/// for absent keys.
public struct AutoencoderKLConfiguration: Codable, Equatable, Sendable {
    public var inChannels = 3
    public var outChannels = 3
    public var blockOutChannels = [64]
    public var layersPerBlock = 1
    public var latentChannels = 4
    public var normNumGroups = 32
    public var sampleSize = 32
    public var scalingFactor: Float = 0.18215
    public var shiftFactor: Float?
    public var useQuantConv = true
    public var usePostQuantConv = true
    public var midBlockAddAttention = true
    public var activationFunction = "silu"
    public var downBlockTypes: [String]?
    public var upBlockTypes: [String]?

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", outChannels = "out_channels", blockOutChannels = "block_out_channels"
        case layersPerBlock = "layers_per_block", latentChannels = "latent_channels", normNumGroups = "norm_num_groups"
        case sampleSize = "sample_size", scalingFactor = "scaling_factor", shiftFactor = "shift_factor"
        case useQuantConv = "use_quant_conv", usePostQuantConv = "use_post_quant_conv", midBlockAddAttention = "mid_block_add_attention"
        case activationFunction = "act_fn", downBlockTypes = "down_block_types", upBlockTypes = "up_block_types"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func get<T: Decodable>(_ key: CodingKeys, _ fallback: T) throws -> T { try c.decodeIfPresent(T.self, forKey: key) ?? fallback }
        inChannels = try get(.inChannels, 3)
        outChannels = try get(.outChannels, 3)
        blockOutChannels = try get(.blockOutChannels, [64])
        layersPerBlock = try get(.layersPerBlock, 1)
        latentChannels = try get(.latentChannels, 4)
        normNumGroups = try get(.normNumGroups, 32)
        // sampleSize may be an int or a list in diffusers configs; tiling uses the first entry.
        if let s = try? c.decodeIfPresent(Int.self, forKey: .sampleSize) { sampleSize = s }
        else if let s = try? c.decodeIfPresent([Int].self, forKey: .sampleSize), let first = s.first { sampleSize = first }
        scalingFactor = try get(.scalingFactor, Float(0.18215))
        shiftFactor = try c.decodeIfPresent(Float.self, forKey: .shiftFactor)
        useQuantConv = try get(.useQuantConv, true)
        usePostQuantConv = try get(.usePostQuantConv, true)
        midBlockAddAttention = try get(.midBlockAddAttention, true)
        activationFunction = try get(.activationFunction, "silu")
        downBlockTypes = try c.decodeIfPresent([String].self, forKey: .downBlockTypes)
        upBlockTypes = try c.decodeIfPresent([String].self, forKey: .upBlockTypes)
    }

    /// Reasons this configuration cannot be built, empty when it can.
    public func problems() -> [String] {
        var out: [String] = []
        if blockOutChannels.isEmpty { out.append("block_out_channels is empty") }
        if layersPerBlock < 1 { out.append("layers_per_block \(layersPerBlock) must be ≥ 1") }
        if activationFunction != "silu" { out.append("act_fn '\(activationFunction)' is not supported (only silu)") }
        for c in blockOutChannels where normNumGroups < 1 || c % normNumGroups != 0 {
            out.append("block_out_channels entry \(c) does not split into norm_num_groups \(normNumGroups)")
        }
        if let d = downBlockTypes, d.contains(where: { $0 != "DownEncoderBlock2D" }) || d.count != blockOutChannels.count {
            out.append("down_block_types \(d) must be \(blockOutChannels.count) × DownEncoderBlock2D")
        }
        if let u = upBlockTypes, u.contains(where: { $0 != "UpDecoderBlock2D" }) || u.count != blockOutChannels.count {
            out.append("up_block_types \(u) must be \(blockOutChannels.count) × UpDecoderBlock2D")
        }
        return out
    }

    /// Spatial downsampling factor of the encoder (2^(blocks − 1)).
    public var downsamplingFactor: Int { 1 << (blockOutChannels.count - 1) }
}

public struct AutoencoderError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// diffusers' Encoder (double_z): conv_in, down blocks, mid block, GroupNorm + SiLU + conv_out to 2·latent.
public final class VAEEncoder: Module {
    public let conv_in: Conv2d
    public let down_blocks: [DownEncoderBlock2D]
    public let mid_block: VAEMidBlock
    public let conv_norm_out: GroupNorm
    public let conv_out: Conv2d

    public init(_ c: AutoencoderKLConfiguration, maker: inout LayerMaker) {
        let ch = c.blockOutChannels, g = c.normNumGroups
        conv_in = maker.conv(c.inChannels, ch[0], kernel: 3, padding: 1)
        var blocks: [DownEncoderBlock2D] = []
        var previous = ch[0]
        for (i, out) in ch.enumerated() {
            blocks.append(DownEncoderBlock2D(previous, out, layers: c.layersPerBlock, groups: g,
                                             downsample: i < ch.count - 1, maker: &maker))
            previous = out
        }
        down_blocks = blocks
        mid_block = VAEMidBlock(channels: ch.last!, groups: g, attention: c.midBlockAddAttention, maker: &maker)
        conv_norm_out = GroupNorm(groups: g, channels: ch.last!, eps: 1e-6)
        conv_out = maker.conv(ch.last!, 2 * c.latentChannels, kernel: 3, padding: 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv_in(x)
        for b in down_blocks { h = b(h) }
        h = mid_block(h)
        return conv_out(conv_norm_out.silu(h))
    }
}

/// diffusers' Decoder: conv_in, mid block, up blocks (layersPerBlock + 1 resnets), GroupNorm + SiLU + conv_out.
public final class VAEDecoder: Module {
    public let conv_in: Conv2d
    public let mid_block: VAEMidBlock
    public let up_blocks: [UpDecoderBlock2D]
    public let conv_norm_out: GroupNorm
    public let conv_out: Conv2d

    public init(_ c: AutoencoderKLConfiguration, maker: inout LayerMaker) {
        let ch = c.blockOutChannels, g = c.normNumGroups
        conv_in = maker.conv(c.latentChannels, ch.last!, kernel: 3, padding: 1)
        mid_block = VAEMidBlock(channels: ch.last!, groups: g, attention: c.midBlockAddAttention, maker: &maker)
        var blocks: [UpDecoderBlock2D] = []
        var previous = ch.last!
        for (i, out) in ch.reversed().enumerated() {
            blocks.append(UpDecoderBlock2D(previous, out, layers: c.layersPerBlock + 1, groups: g,
                                           upsample: i < ch.count - 1, maker: &maker))
            previous = out
        }
        up_blocks = blocks
        conv_norm_out = GroupNorm(groups: g, channels: ch[0], eps: 1e-6)
        conv_out = maker.conv(ch[0], c.outChannels, kernel: 3, padding: 1)
    }

    public func callAsFunction(_ z: Tensor) -> Tensor {
        var h = mid_block(conv_in(z))
        for b in up_blocks { h = b(h) }
        return conv_out(conv_norm_out.silu(h))
    }
}

/// The diagonal Gaussian an encoder predicts, per latent element.
public struct LatentDistribution {
    public let mean: Tensor
    /// Log-variance, clamped to [−30, 20] as diffusers' DiagonalGaussianDistribution.
    public let logvar: Tensor

    public var std: Tensor { (logvar * 0.5).exp() }

    /// mean + std · ε with ε ~ N(0, 1) from `generator`.
    public func sample(generator: inout RandomGenerator) -> Tensor {
        mean + std * Tensor.normal(mean.shape, generator: &generator)
    }

    /// KL(q ‖ N(0, 1)) summed over latent elements and averaged over the batch: ½Σ(μ² + σ² − 1 − log σ²).
    public func klDivergence() -> Tensor {
        let perElement = (mean * mean + logvar.exp() - logvar - 1) * 0.5
        return perElement.sum() / Float(mean.shape[0])
    }
}

/// diffusers' AutoencoderKL: property names are the checkpoint keys (encoder.…, decoder.…,
/// quant_conv.…, post_quant_conv.…).
public final class AutoencoderKL: Module {
    public let encoder: VAEEncoder
    public let decoder: VAEDecoder
    public let quant_conv: Conv2d?
    public let post_quant_conv: Conv2d?
    public private(set) var configuration: AutoencoderKLConfiguration

    /// Builds the model: random layers (torch's default initialisation) with `LayerMaker(seed:)`,
    /// zero placeholders for loading with `LayerMaker()`.
    public init(_ configuration: AutoencoderKLConfiguration, maker: inout LayerMaker) throws {
        let problems = configuration.problems()
        guard problems.isEmpty else {
            throw AutoencoderError("AutoencoderKL configuration: " + problems.joined(separator: "; "))
        }
        self.configuration = configuration
        let l2 = 2 * configuration.latentChannels, l = configuration.latentChannels
        encoder = VAEEncoder(configuration, maker: &maker)
        decoder = VAEDecoder(configuration, maker: &maker)
        quant_conv = configuration.useQuantConv ? maker.conv(l2, l2, kernel: 1) : nil
        post_quant_conv = configuration.usePostQuantConv ? maker.conv(l, l, kernel: 1) : nil
    }

    /// Random model from a seed.
    public convenience init(_ configuration: AutoencoderKLConfiguration, seed: UInt64) throws {
        var maker = LayerMaker(seed: seed)
        try self.init(configuration, maker: &maker)
    }

    /// Loads a diffusers folder: config.json and diffusion_pytorch_model.safetensors, strictly
    /// (every key present, no extra key, every shape equal) after `sanitize` has mapped older
    /// attention names; errors name the file.
    public static func load(directory: URL) throws -> AutoencoderKL {
        let configURL = directory.appendingPathComponent("config.json")
        let weightsURL = directory.appendingPathComponent("diffusion_pytorch_model.safetensors")
        let configuration: AutoencoderKLConfiguration
        do {
            configuration = try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(contentsOf: configURL))
        } catch let e as DecodingError {
            throw AutoencoderError("\(configURL.path): not a valid AutoencoderKL config.json (\(e))")
        } catch {
            throw AutoencoderError("\(configURL.path): cannot read (\(error.localizedDescription))")
        }
        var maker = LayerMaker()
        let model: AutoencoderKL
        do { model = try AutoencoderKL(configuration, maker: &maker) } catch let e as AutoencoderError {
            throw AutoencoderError("\(configURL.path): \(e.description)")
        }
        guard FileManager.default.fileExists(atPath: weightsURL.path) else {
            throw AutoencoderError("\(weightsURL.path): no such file (a diffusers AutoencoderKL folder holds config.json and diffusion_pytorch_model.safetensors)")
        }
        let attentionPaths = model.midBlockAttentionPaths
        do {
            try model.loadSafetensors(weightsURL, strict: true) { try sanitize($0, attentionPaths: attentionPaths) }
        } catch let e as AutoencoderError {
            throw AutoencoderError("\(weightsURL.path): \(e.description)")
        }
        return model
    }

    /// The checkpoint paths of the mid-block attentions: the blocks diffusers marks
    /// `_from_deprecated_attn_block`, whose parameters older checkpoints name differently.
    var midBlockAttentionPaths: [String] {
        [("encoder", encoder.mid_block), ("decoder", decoder.mid_block)].flatMap { coder, block in
            block.attentions.indices.map { "\(coder).mid_block.attentions.\($0)" }
        }
    }

    /// The older attention names and today's, as diffusers' `_convert_deprecated_attention_blocks`
    /// maps them. Both are nn.Linear ([out, in] weight, [out] bias), so values move unchanged;
    /// `group_norm` kept its name.
    static let deprecatedAttentionNames = [("query", "to_q"), ("key", "to_k"), ("value", "to_v"), ("proj_attn", "to_out.0")]

    /// Renames checkpoints written before diffusers' Attention rewrite (`…attentions.0.query.weight`
    /// → `…attentions.0.to_q.weight`) inside `attentionPaths` only. diffusers lets the older key
    /// overwrite; a file holding both spellings of one parameter is ambiguous, so it is refused with
    /// both keys named.
    static func sanitize(_ tensors: [String: Tensor], attentionPaths: [String]) throws -> [String: Tensor] {
        var out = tensors
        var conflicts: [String] = []
        for path in attentionPaths {
            for (old, new) in deprecatedAttentionNames {
                for field in ["weight", "bias"] {
                    let oldKey = "\(path).\(old).\(field)", newKey = "\(path).\(new).\(field)"
                    guard let t = out[oldKey] else { continue }
                    if out[newKey] != nil {
                        conflicts.append("'\(oldKey)' and '\(newKey)'")
                        continue
                    }
                    out[oldKey] = nil
                    out[newKey] = t
                }
            }
        }
        guard conflicts.isEmpty else {
            throw AutoencoderError("the checkpoint holds one parameter under both its older and its current diffusers name: "
                + conflicts.joined(separator: "; ") + " (keep one of each pair)")
        }
        return out
    }

    /// Writes a diffusers-layout folder (config.json + diffusion_pytorch_model.safetensors).
    public func save(directory: URL, dtype: DType = .float32) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        // diffusers defaults to one block type, so the per-block lists are always written.
        var written = configuration
        written.downBlockTypes = written.downBlockTypes ?? Array(repeating: "DownEncoderBlock2D", count: written.blockOutChannels.count)
        written.upBlockTypes = written.upBlockTypes ?? Array(repeating: "UpDecoderBlock2D", count: written.blockOutChannels.count)
        var json = try encoder.encode(written)
        // diffusers reads the class name to pick the model.
        if var object = try JSONSerialization.jsonObject(with: json) as? [String: Any] {
            object["_class_name"] = "AutoencoderKL"
            json = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        }
        try json.write(to: directory.appendingPathComponent("config.json"), options: .atomic)
        try saveSafetensors(directory.appendingPathComponent("diffusion_pytorch_model.safetensors"), dtype: dtype)
    }

    /// Sets the latent normalisation the generator sees: (z − shift) · scale (measured after training).
    public func setLatentScaling(scalingFactor: Float, shiftFactor: Float?) {
        configuration.scalingFactor = scalingFactor
        configuration.shiftFactor = shiftFactor
    }

    /// Throws a message naming the problem unless `x` is [N, inChannels, H, W] with H and W positive
    /// multiples of the downsampling factor (what `encode` requires; callers with user input check first).
    public func validateImages(_ x: Tensor) throws {
        let c = configuration, f = c.downsamplingFactor
        guard x.rank == 4, x.shape[1] == c.inChannels else {
            throw AutoencoderError("AutoencoderKL.encode expects images [N, \(c.inChannels), H, W], got \(x.shape)")
        }
        guard x.shape[0] > 0, x.shape[2] > 0, x.shape[3] > 0, x.shape[2] % f == 0, x.shape[3] % f == 0 else {
            throw AutoencoderError("AutoencoderKL.encode: image size \(x.shape[2])×\(x.shape[3]) must be a positive multiple of \(f) (the downsampling factor)")
        }
    }

    /// Throws unless `z` is [N, latentChannels, h, w] with a nonzero size (what `decode` requires).
    public func validateLatents(_ z: Tensor) throws {
        let c = configuration
        guard z.rank == 4, z.shape[1] == c.latentChannels, z.shape[0] > 0, z.shape[2] > 0, z.shape[3] > 0 else {
            throw AutoencoderError("AutoencoderKL.decode expects latents [N, \(c.latentChannels), h, w], got \(z.shape)")
        }
    }

    /// Images [N, inChannels, H, W] (H, W multiples of the downsampling factor) → the latent Gaussian.
    public func encode(_ x: Tensor) -> LatentDistribution {
        var moments = encoder(x)
        if let q = quant_conv { moments = q(moments) }
        let parts = moments.chunked(2, axis: 1)
        return LatentDistribution(mean: parts[0], logvar: parts[1].clamped(min: -30, max: 20))
    }

    /// Latents [N, latentChannels, h, w] (unscaled) → images [N, outChannels, h·f, w·f].
    public func decode(_ z: Tensor) -> Tensor {
        decoder(post_quant_conv?(z) ?? z)
    }

    /// Encode to the mean and decode (diffusers' forward with sample_posterior = False).
    public func reconstruct(_ x: Tensor) -> Tensor { decode(encode(x).mean) }

    /// Latent as the generator sees it: (z − shiftFactor) · scalingFactor.
    public func scaledLatent(_ z: Tensor) -> Tensor {
        (z - (configuration.shiftFactor ?? 0)) * configuration.scalingFactor
    }

    /// Inverse of `scaledLatent`: z / scalingFactor + shiftFactor, ready for `decode`.
    public func unscaledLatent(_ scaled: Tensor) -> Tensor {
        scaled / configuration.scalingFactor + (configuration.shiftFactor ?? 0)
    }
}
