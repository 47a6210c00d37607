import Foundation

extension GeneratorShape {
    /// Some of a `GeneratorShape`'s fields: what a generator config file (`latte train --generator-config
    /// FILE`) or `latte train`'s flags set; nil leaves a field as it was. The shape a run trains is the
    /// defaults, then the file, then the flags (`GeneratorShape(file:flags:)`).
    ///
    /// The file is a JSON object whose keys are `generator.json`'s names for the same fields (`keys`);
    /// an unknown key, a value of the wrong type or out of range is an error naming the key.
    public struct Overrides: Sendable, Equatable {
        public var groups: Int?
        public var layersPerGroup: Int?
        public var width: Int?
        public var mlpWidth: Int?
        public var queryHeads: Int?
        public var patchSize: Int?
        public var residualAttention: ResidualAttentionMode?
        public var inputSkip: Bool?
        public var absolutePositions: Bool?
        public var attentionBias: Bool?
        public var backboneLayers: BackboneLayerSelection?
        public var boundaries: [Float]?

        public init(groups: Int? = nil, layersPerGroup: Int? = nil, width: Int? = nil, mlpWidth: Int? = nil, queryHeads: Int? = nil,
                    patchSize: Int? = nil, residualAttention: ResidualAttentionMode? = nil, inputSkip: Bool? = nil,
                    absolutePositions: Bool? = nil, attentionBias: Bool? = nil, backboneLayers: BackboneLayerSelection? = nil,
                    boundaries: [Float]? = nil) {
            self.boundaries = boundaries
            self.groups = groups
            self.layersPerGroup = layersPerGroup
            self.width = width
            self.mlpWidth = mlpWidth
            self.queryHeads = queryHeads
            self.patchSize = patchSize
            self.residualAttention = residualAttention
            self.inputSkip = inputSkip
            self.absolutePositions = absolutePositions
            self.attentionBias = attentionBias
            self.backboneLayers = backboneLayers
        }

        /// The keys a generator config file may hold, each with the `latte train` flag that overrides it
        /// ("comment", a free string, is also allowed).
        public static let keys: [(key: String, flag: String)] = [
            ("groups", "--groups"), ("layers_per_group", "--layers-per-group"), ("width", "--width"), ("mlp_width", "--mlp-width"),
            ("query_heads", "--query-heads"), ("patch_size", "--patch-size"), ("residual_attention", "--residual-attention"),
            ("input_skip", "--[no-]input-skip"), ("absolute_positions", "--[no-]absolute-positions"),
            ("attention_bias", "--[no-]attention-bias"), ("backbone_layers", "--backbone-layers"),
            ("boundaries", "--group-boundaries"),
        ]

        /// generator.json keys that follow from the backbone, the latents or fixed choices, not from a
        /// config file (a model's generator.json given as --generator-config is refused with this reason).
        static let derivedKeys = ["backbone", "layer_count", "kv_heads", "head_dim", "latent_channels", "latent_height", "latent_width",
                                  "rope_theta", "mrope_sections", "per_group_heads", "norm_eps", "timestep_frequencies"]

        /// Reads a generator config file; errors name the file and the key.
        public init(contentsOf url: URL) throws {
            let data: Data
            do { data = try Data(contentsOf: url) } catch {
                throw GeneratorError.invalidConfiguration("generator config \(url.path): cannot read it (\(error.localizedDescription))")
            }
            do { self = try JSONDecoder().decode(Overrides.self, from: data) } catch let error as GeneratorError {
                throw GeneratorError.invalidConfiguration("generator config \(url.path): \(error.reason)")
            } catch {
                throw GeneratorError.invalidConfiguration("generator config \(url.path): not a JSON object (\(error))")
            }
        }

        /// These fields where set, `base`'s elsewhere (flags over a file).
        public func overriding(_ base: Overrides) -> Overrides {
            Overrides(groups: groups ?? base.groups, layersPerGroup: layersPerGroup ?? base.layersPerGroup, width: width ?? base.width,
                      mlpWidth: mlpWidth ?? base.mlpWidth, queryHeads: queryHeads ?? base.queryHeads, patchSize: patchSize ?? base.patchSize,
                      residualAttention: residualAttention ?? base.residualAttention, inputSkip: inputSkip ?? base.inputSkip,
                      absolutePositions: absolutePositions ?? base.absolutePositions, attentionBias: attentionBias ?? base.attentionBias,
                      backboneLayers: backboneLayers ?? base.backboneLayers, boundaries: boundaries ?? base.boundaries)
        }

        /// `shape` with the fields set here replaced.
        public func applied(to shape: GeneratorShape) -> GeneratorShape {
            var s = shape
            if let groups { s.groups = groups }
            if let layersPerGroup { s.layersPerGroup = layersPerGroup }
            if let width { s.width = width }
            if let mlpWidth { s.mlpWidth = mlpWidth }
            if let queryHeads { s.queryHeads = queryHeads }
            if let patchSize { s.patchSize = patchSize }
            if let residualAttention { s.residualAttention = residualAttention }
            if let inputSkip { s.inputSkip = inputSkip }
            if let absolutePositions { s.absolutePositions = absolutePositions }
            if let attentionBias { s.attentionBias = attentionBias }
            if let backboneLayers { s.backboneLayers = backboneLayers }
            if let boundaries { s.boundaries = boundaries }
            return s
        }
    }

    /// The defaults, then the config file's fields, then the flags' fields; checked.
    public init(file: URL?, flags: Overrides) throws {
        let fromFile = try file.map { try Overrides(contentsOf: $0) } ?? Overrides()
        self = flags.overriding(fromFile).applied(to: GeneratorShape())
        try validate()
    }

    /// Checks what can be checked before the backbone and the latents are known; errors name the key
    /// and its flag.
    public func validate() throws {
        func atLeastOne(_ value: Int?, _ key: String) throws {
            guard let value, value < 1 else { return }
            let flag = Overrides.keys.first { $0.key == key }!.flag
            throw GeneratorError.invalidConfiguration("\(key) (\(flag)) must be at least 1, got \(value)")
        }
        try atLeastOne(groups, "groups")
        try atLeastOne(layersPerGroup, "layers_per_group")
        try atLeastOne(width, "width")
        try atLeastOne(mlpWidth, "mlp_width")
        try atLeastOne(queryHeads, "query_heads")
        try atLeastOne(patchSize, "patch_size")
        if absolutePositions && width % 4 != 0 {
            throw GeneratorError.invalidConfiguration("absolute_positions needs a width (--width) divisible by 4, got \(width); or turn them off (--no-absolute-positions)")
        }
        if let b = boundaries {
            // Checked here, before any work, as well as by GeneratorConfiguration.validate (the same rule).
            guard b.count == groups + 1, b.first == 0, b.last == 1, zip(b, b.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw GeneratorError.invalidConfiguration(
                    "boundaries (--group-boundaries) must be K + 1 = \(groups + 1) increasing values from 0 to 1 (K = groups = \(groups)), got \(b.map { "\($0)" }.joined(separator: ","))")
            }
        }
        if case .every(let n) = backboneLayers, n < 1 {
            throw GeneratorError.invalidConfiguration("backbone_layers (--backbone-layers) every:\(n): N must be at least 1")
        }
    }
}

extension GeneratorShape.Overrides: Decodable {
    private struct Key: CodingKey {
        let stringValue: String
        init(stringValue: String) { self.stringValue = stringValue }
        var intValue: Int? { nil }
        init?(intValue: Int) { nil }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: Key.self)
        self.init()
        for key in c.allKeys {
            let name = key.stringValue
            func value<T: Decodable>(_ type: T.Type, _ expected: String) throws -> T {
                do { return try c.decode(T.self, forKey: key) } catch {
                    throw GeneratorError.invalidConfiguration("\"\(name)\" must be \(expected)")
                }
            }
            switch name {
            case "groups": groups = try value(Int.self, "a whole number")
            case "layers_per_group": layersPerGroup = try value(Int.self, "a whole number")
            case "width": width = try value(Int.self, "a whole number")
            case "mlp_width": mlpWidth = try value(Int.self, "a whole number")
            case "query_heads": queryHeads = try value(Int.self, "a whole number")
            case "patch_size": patchSize = try value(Int.self, "a whole number")
            case "input_skip": inputSkip = try value(Bool.self, "true or false")
            case "absolute_positions": absolutePositions = try value(Bool.self, "true or false")
            case "attention_bias": attentionBias = try value(Bool.self, "true or false")
            case "comment": _ = try value(String.self, "a string")
            case "boundaries": boundaries = try value([Float].self, "an array of numbers, K + 1 increasing values from 0 to 1")
            case "residual_attention":
                let modes = "\"pre_softmax\", \"post_softmax\" or \"off\""
                let text = try value(String.self, modes)
                guard let mode = ResidualAttentionMode(rawValue: text) else {
                    throw GeneratorError.invalidConfiguration("\"residual_attention\" must be \(modes), got \"\(text)\"")
                }
                residualAttention = mode
            case "backbone_layers":
                if let indices = try? c.decode([Int].self, forKey: key) {
                    backboneLayers = .list(indices)
                } else {
                    let text = try value(String.self, "\"all\", \"every:N\", a list such as \"0-13,20\" or an array of layer indices")
                    do { backboneLayers = try BackboneLayerSelection(parsing: text) } catch let error as GeneratorError {
                        throw GeneratorError.invalidConfiguration("\"backbone_layers\": \(error.reason)")
                    }
                }
            case let k where Self.derivedKeys.contains(k):
                throw GeneratorError.invalidConfiguration(
                    "\"\(k)\" is not a choice of the generator config file: it follows from the backbone, the latents or fixed defaults (is this a model's generator.json?). The file sets: \(Self.keys.map(\.key).joined(separator: ", "))")
            default:
                throw GeneratorError.invalidConfiguration(
                    "unknown key \"\(name)\"; a generator config file sets: \(Self.keys.map(\.key).joined(separator: ", ")) (and \"comment\")")
            }
        }
    }
}

extension GeneratorError {
    /// The message without its "invalid …:" prefix, to wrap in a more specific one.
    var reason: String {
        switch self {
        case .invalidConfiguration(let s), .invalidInput(let s): return s
        }
    }
}
