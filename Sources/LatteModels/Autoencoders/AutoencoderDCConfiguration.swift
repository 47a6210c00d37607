import Foundation

/// A bad DC-AE `config.json`: names the file and the field.
public struct AutoencoderConfigurationError: Error, CustomStringConvertible {
    public let file: String
    public let message: String
    public var description: String { "\(file): \(message)" }
}

/// diffusers' `AutoencoderDC` config.json, snake_case keys, diffusers' defaults for absent fields.
/// Fields that diffusers accepts as "one value for every stage or a list per stage" are expanded to
/// one entry per stage by `validated(file:)`.
public struct AutoencoderDCConfiguration: Codable, Equatable, Sendable {
    /// A string applied to every stage, or one string per stage.
    public enum PerStage: Codable, Equatable, Sendable {
        case all(String)
        case each([String])

        public init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) { self = .all(s) } else { self = .each(try c.decode([String].self)) }
        }
        public func encode(to encoder: Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self { case .all(let s): try c.encode(s); case .each(let a): try c.encode(a) }
        }
        func expanded(_ n: Int) -> [String]? {
            switch self { case .all(let s): return Array(repeating: s, count: n); case .each(let a): return a.count == n ? a : nil }
        }
    }

    public var inChannels = 3
    public var latentChannels = 32
    public var attentionHeadDim = 32
    public var encoderBlockTypes = PerStage.all("ResBlock")
    public var decoderBlockTypes = PerStage.all("ResBlock")
    public var encoderBlockOutChannels = [128, 256, 512, 512, 1024, 1024]
    public var decoderBlockOutChannels = [128, 256, 512, 512, 1024, 1024]
    public var encoderLayersPerBlock = [2, 2, 2, 3, 3, 3]
    public var decoderLayersPerBlock = [3, 3, 3, 3, 3, 3]
    public var encoderQkvMultiscales: [[Int]] = [[], [], [], [5], [5], [5]]
    public var decoderQkvMultiscales: [[Int]] = [[], [], [], [5], [5], [5]]
    public var upsampleBlockType = "pixel_shuffle"
    public var downsampleBlockType = "pixel_unshuffle"
    public var decoderNormTypes = PerStage.all("rms_norm")
    public var decoderActFns = PerStage.all("silu")
    public var encoderOutShortcut = true
    public var decoderInShortcut = true
    public var decoderConvActFn = "relu"
    public var scalingFactor: Float = 1.0

    enum CodingKeys: String, CodingKey {
        case inChannels = "in_channels", latentChannels = "latent_channels", attentionHeadDim = "attention_head_dim"
        case encoderBlockTypes = "encoder_block_types", decoderBlockTypes = "decoder_block_types"
        case encoderBlockOutChannels = "encoder_block_out_channels", decoderBlockOutChannels = "decoder_block_out_channels"
        case encoderLayersPerBlock = "encoder_layers_per_block", decoderLayersPerBlock = "decoder_layers_per_block"
        case encoderQkvMultiscales = "encoder_qkv_multiscales", decoderQkvMultiscales = "decoder_qkv_multiscales"
        case upsampleBlockType = "upsample_block_type", downsampleBlockType = "downsample_block_type"
        case decoderNormTypes = "decoder_norm_types", decoderActFns = "decoder_act_fns"
        case encoderOutShortcut = "encoder_out_shortcut", decoderInShortcut = "decoder_in_shortcut"
        case decoderConvActFn = "decoder_conv_act_fn", scalingFactor = "scaling_factor"
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func v<T: Decodable>(_ k: CodingKeys, _ d: T) throws -> T { try c.decodeIfPresent(T.self, forKey: k) ?? d }
        let d = AutoencoderDCConfiguration()
        inChannels = try v(.inChannels, d.inChannels)
        latentChannels = try v(.latentChannels, d.latentChannels)
        attentionHeadDim = try v(.attentionHeadDim, d.attentionHeadDim)
        encoderBlockTypes = try v(.encoderBlockTypes, d.encoderBlockTypes)
        decoderBlockTypes = try v(.decoderBlockTypes, d.decoderBlockTypes)
        encoderBlockOutChannels = try v(.encoderBlockOutChannels, d.encoderBlockOutChannels)
        decoderBlockOutChannels = try v(.decoderBlockOutChannels, d.decoderBlockOutChannels)
        encoderLayersPerBlock = try v(.encoderLayersPerBlock, d.encoderLayersPerBlock)
        decoderLayersPerBlock = try v(.decoderLayersPerBlock, d.decoderLayersPerBlock)
        encoderQkvMultiscales = try v(.encoderQkvMultiscales, d.encoderQkvMultiscales)
        decoderQkvMultiscales = try v(.decoderQkvMultiscales, d.decoderQkvMultiscales)
        upsampleBlockType = try v(.upsampleBlockType, d.upsampleBlockType)
        downsampleBlockType = try v(.downsampleBlockType, d.downsampleBlockType)
        decoderNormTypes = try v(.decoderNormTypes, d.decoderNormTypes)
        decoderActFns = try v(.decoderActFns, d.decoderActFns)
        encoderOutShortcut = try v(.encoderOutShortcut, d.encoderOutShortcut)
        decoderInShortcut = try v(.decoderInShortcut, d.decoderInShortcut)
        decoderConvActFn = try v(.decoderConvActFn, d.decoderConvActFn)
        scalingFactor = try v(.scalingFactor, d.scalingFactor)
    }

    /// Reads and checks a config.json; every error names the file and the offending field.
    public static func load(contentsOf url: URL) throws -> AutoencoderDCConfiguration {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw AutoencoderConfigurationError(file: url.path, message: "cannot read: \(error.localizedDescription)")
        }
        let config: AutoencoderDCConfiguration
        do { config = try JSONDecoder().decode(AutoencoderDCConfiguration.self, from: data) } catch let DecodingError.typeMismatch(_, ctx) {
            throw AutoencoderConfigurationError(file: url.path, message: "field \(ctx.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
        } catch {
            throw AutoencoderConfigurationError(file: url.path, message: "not a valid JSON object: \(error)")
        }
        try config.validate(file: url.path)
        return config
    }

    /// Checks the per-stage lists agree in length and hold known values.
    public func validate(file: String) throws {
        func fail(_ m: String) -> AutoencoderConfigurationError { AutoencoderConfigurationError(file: file, message: m) }
        let ne = encoderBlockOutChannels.count, nd = decoderBlockOutChannels.count
        guard ne > 0, nd > 0 else { throw fail("encoder_block_out_channels and decoder_block_out_channels must not be empty") }
        guard encoderLayersPerBlock.count == ne else { throw fail("encoder_layers_per_block has \(encoderLayersPerBlock.count) entries for \(ne) stages") }
        guard decoderLayersPerBlock.count == nd else { throw fail("decoder_layers_per_block has \(decoderLayersPerBlock.count) entries for \(nd) stages") }
        guard encoderQkvMultiscales.count == ne else { throw fail("encoder_qkv_multiscales has \(encoderQkvMultiscales.count) entries for \(ne) stages") }
        guard decoderQkvMultiscales.count == nd else { throw fail("decoder_qkv_multiscales has \(decoderQkvMultiscales.count) entries for \(nd) stages") }
        let blocks: Set = ["ResBlock", "EfficientViTBlock"]
        for (name, field, n) in [("encoder_block_types", encoderBlockTypes, ne), ("decoder_block_types", decoderBlockTypes, nd)] {
            guard let list = field.expanded(n) else { throw fail("\(name) must be one string or \(n) strings") }
            if let bad = list.first(where: { !blocks.contains($0) }) { throw fail("\(name) has unknown block type \"\(bad)\" (known: ResBlock, EfficientViTBlock)") }
        }
        guard decoderNormTypes.expanded(nd) != nil else { throw fail("decoder_norm_types must be one string or \(nd) strings") }
        guard decoderActFns.expanded(nd) != nil else { throw fail("decoder_act_fns must be one string or \(nd) strings") }
        guard ["pixel_unshuffle", "conv"].contains(downsampleBlockType) else { throw fail("downsample_block_type \"\(downsampleBlockType)\" is not pixel_unshuffle or conv") }
        guard ["pixel_shuffle", "interpolate"].contains(upsampleBlockType) else { throw fail("upsample_block_type \"\(upsampleBlockType)\" is not pixel_shuffle or interpolate") }
        guard inChannels > 0, latentChannels > 0, attentionHeadDim > 0 else { throw fail("in_channels, latent_channels and attention_head_dim must be positive") }
        guard scalingFactor.isFinite, scalingFactor != 0 else { throw fail("scaling_factor must be finite and non-zero") }
        try validateArchitecture(fail)
    }

    /// The shape facts diffusers' modules assume without checking (a violation there is a torch
    /// shape error mid-forward; here it is a message before anything is built).
    private func validateArchitecture(_ fail: (String) -> AutoencoderConfigurationError) throws {
        let acts: Set = ["silu", "swish", "relu", "gelu"], norms: Set = ["rms_norm", "batch_norm"]
        let nd = decoderBlockOutChannels.count
        if let bad = decoderActFns.expanded(nd)!.first(where: { !acts.contains($0) }) {
            throw fail("decoder_act_fns has unsupported activation \"\(bad)\" (supported: silu, swish, relu, gelu)")
        }
        if let bad = decoderNormTypes.expanded(nd)!.first(where: { !norms.contains($0) }) {
            throw fail("decoder_norm_types has unsupported norm \"\(bad)\" (supported: rms_norm, batch_norm)")
        }
        guard acts.contains(decoderConvActFn) else {
            throw fail("decoder_conv_act_fn \"\(decoderConvActFn)\" is not supported (supported: silu, swish, relu, gelu)")
        }
        for (side, ch, layers, types, scales) in [
            ("encoder", encoderBlockOutChannels, encoderLayersPerBlock, encoderBlockTypes, encoderQkvMultiscales),
            ("decoder", decoderBlockOutChannels, decoderLayersPerBlock, decoderBlockTypes, decoderQkvMultiscales),
        ] {
            let n = ch.count
            guard ch.allSatisfy({ $0 > 0 }) else { throw fail("\(side)_block_out_channels must be positive") }
            guard layers.allSatisfy({ $0 >= 0 }), layers.dropFirst().allSatisfy({ $0 > 0 }) else {
                throw fail("\(side)_layers_per_block \(layers): only the first stage may have 0 layers, none fewer")
            }
            if layers[0] == 0 && n < 2 { throw fail("\(side)_layers_per_block: a first stage with 0 layers needs a second stage") }
            for i in 0..<(n - 1) {
                // Encoder down shortcut: 4·ch[i] unshuffled channels averaged in groups down to ch[i+1];
                // decoder up shortcut: ch[i+1] channels repeated to 4·ch[i], then shuffled. Same condition.
                guard (4 * ch[i]) % ch[i + 1] == 0 else {
                    throw fail("\(side)_block_out_channels \(ch[i]), \(ch[i + 1]): the 2× space/channel shortcut needs 4·\(ch[i]) divisible by \(ch[i + 1])")
                }
                if side == "encoder", downsampleBlockType == "pixel_unshuffle", ch[i + 1] % 4 != 0 {
                    throw fail("encoder_block_out_channels \(ch[i + 1]) must be divisible by 4 for pixel_unshuffle downsampling")
                }
            }
            guard ch[n - 1] % latentChannels == 0 else {
                throw fail("\(side)_block_out_channels last entry \(ch[n - 1]) must be a multiple of latent_channels \(latentChannels) (the latent shortcut)")
            }
            for (i, t) in types.expanded(n)!.enumerated() where t == "EfficientViTBlock" && layers[i] > 0 {
                guard ch[i] >= attentionHeadDim else {
                    throw fail("\(side) stage \(i): \(ch[i]) channels give no attention head of attention_head_dim \(attentionHeadDim)")
                }
                if let k = scales[i].first(where: { $0 < 1 || $0 % 2 == 0 }) {
                    throw fail("\(side)_qkv_multiscales stage \(i): kernel size \(k) must be odd and positive")
                }
            }
        }
    }
}
