import Foundation

/// Whether and how a generation layer reuses the previous layer's image self-attention (docs/method.md §4).
public enum ResidualAttentionMode: String, Codable, Sendable {
    /// Plain attention.
    case off
    /// S̃_ℓ[img] = S_ℓ[img] + γ_ℓ(t) ⊙ S̃_{ℓ−1}[img] on the pre-softmax scores (the project's default).
    case preSoftmax = "pre_softmax"
    /// Ã_ℓ[img] = A_ℓ[img] + γ_ℓ(t) ⊙ Ã_{ℓ−1}[img] on the attention probabilities (rows not renormalised).
    case postSoftmax = "post_softmax"
}

/// Everything that defines a generator's shape. Saved as JSON beside its weights.
///
/// [paper] choices: K groups of contiguous layers, lowest layers own the noisiest times, residual
/// attention gated per head by the timestep. [ours] choices are options here with documented
/// defaults (docs/method.md): uniform boundaries, per-group output heads, M-RoPE image positions.
public struct GeneratorConfiguration: Codable, Equatable, Sendable {
    /// Names the frozen backbone (a short asset name such as "smollm2", or a path).
    public var backbone: String
    /// Generation layers (L): one per backbone layer, or one per selected backbone layer (`backboneLayers`).
    public var layerCount: Int
    /// The backbone layer each generation layer reads (its prompt keys and values): generation layer ℓ
    /// pairs with backbone layer `backboneLayers[ℓ]`, increasing. nil: layer ℓ pairs with layer ℓ and the
    /// backbone has exactly `layerCount` layers (every generator before this field existed).
    public var backboneLayers: [Int]?
    /// Key/value geometry of the backbone layers; every generation layer uses the same.
    public var kvHeads: Int
    public var headDim: Int
    /// Width of the generation pathway (d_g) and its query heads (a multiple of kvHeads).
    public var width: Int
    public var queryHeads: Int
    /// SwiGLU hidden width.
    public var mlpWidth: Int
    /// Number of timestep-expert groups K (1 = the vanilla baseline).
    public var groups: Int
    /// K + 1 increasing times from 0 to 1; group k owns [b_k, b_{k+1}). nil = uniform.
    public var boundaries: [Float]?
    public var residualAttention: ResidualAttentionMode
    /// Latent geometry and the p×p patches that become image tokens.
    public var latentChannels: Int
    public var latentHeight: Int
    public var latentWidth: Int
    public var patchSize: Int
    /// One output head per group (groups end at different depths) or one shared head.
    public var perGroupHeads: Bool
    public var normEps: Float
    public var ropeTheta: Float
    /// M-RoPE frequency sections (temporal, height, width), summing to headDim / 2.
    public var mropeSections: [Int]
    /// Sinusoidal frequencies of the timestep embedding.
    public var timestepFrequencies: Int
    /// Biases on the q/k/v projections (Qwen2 has them; LLaMA does not), so copy-initialisation from
    /// such a backbone has somewhere to put them.
    public var attentionBias: Bool
    /// [ours] The output heads add s(t) ⊙ x_t to their prediction, s a zero-initialised per-value linear
    /// map of the timestep conditioning (EDM's c_skip, learned). The velocity (x1 − x_t)/(1 − t) is
    /// mostly a multiple of the input at low t, but the head's RMSNorm strips each token's magnitude,
    /// so without a skip the stack must rebuild |x_t| from a constant it has to learn first.
    public var inputSkip: Bool
    /// [ours] A fixed 2-D sine-cosine position table (DiT's) added to the image tokens after the patch
    /// embedding. M-RoPE alone only gives relative positions, and at t ≈ 0 the input is pure noise,
    /// so the noisiest expert could not tell where in the image a token sits (where a class's shape
    /// goes); the table also gives every token a constant component that anchors the output norm.
    public var absolutePositions: Bool

    enum CodingKeys: String, CodingKey {
        case backbone, groups, boundaries
        case layerCount = "layer_count", kvHeads = "kv_heads", headDim = "head_dim", width
        case queryHeads = "query_heads", mlpWidth = "mlp_width", residualAttention = "residual_attention"
        case latentChannels = "latent_channels", latentHeight = "latent_height", latentWidth = "latent_width"
        case patchSize = "patch_size", perGroupHeads = "per_group_heads", normEps = "norm_eps"
        case ropeTheta = "rope_theta", mropeSections = "mrope_sections", timestepFrequencies = "timestep_frequencies"
        case attentionBias = "attention_bias", inputSkip = "input_skip", absolutePositions = "absolute_positions"
        case backboneLayers = "backbone_layers"
    }

    public init(
        backbone: String, layerCount: Int, kvHeads: Int, headDim: Int, width: Int, queryHeads: Int, mlpWidth: Int,
        groups: Int, boundaries: [Float]? = nil, residualAttention: ResidualAttentionMode = .preSoftmax,
        latentChannels: Int, latentHeight: Int, latentWidth: Int, patchSize: Int,
        perGroupHeads: Bool = true, normEps: Float = 1e-6, ropeTheta: Float = 10_000,
        mropeSections: [Int]? = nil, timestepFrequencies: Int = 256, attentionBias: Bool = false,
        inputSkip: Bool = false, absolutePositions: Bool = false, backboneLayers: [Int]? = nil
    ) {
        self.backboneLayers = backboneLayers
        self.absolutePositions = absolutePositions
        self.attentionBias = attentionBias
        self.inputSkip = inputSkip
        self.backbone = backbone
        self.layerCount = layerCount
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.width = width
        self.queryHeads = queryHeads
        self.mlpWidth = mlpWidth
        self.groups = groups
        self.boundaries = boundaries
        self.residualAttention = residualAttention
        self.latentChannels = latentChannels
        self.latentHeight = latentHeight
        self.latentWidth = latentWidth
        self.patchSize = patchSize
        self.perGroupHeads = perGroupHeads
        self.normEps = normEps
        self.ropeTheta = ropeTheta
        self.mropeSections = mropeSections ?? GeneratorConfiguration.defaultSections(headDim: headDim)
        self.timestepFrequencies = timestepFrequencies
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            backbone: try c.decode(String.self, forKey: .backbone), layerCount: try c.decode(Int.self, forKey: .layerCount),
            kvHeads: try c.decode(Int.self, forKey: .kvHeads), headDim: try c.decode(Int.self, forKey: .headDim),
            width: try c.decode(Int.self, forKey: .width), queryHeads: try c.decode(Int.self, forKey: .queryHeads),
            mlpWidth: try c.decode(Int.self, forKey: .mlpWidth), groups: try c.decode(Int.self, forKey: .groups),
            boundaries: try c.decodeIfPresent([Float].self, forKey: .boundaries),
            residualAttention: try c.decodeIfPresent(ResidualAttentionMode.self, forKey: .residualAttention) ?? .preSoftmax,
            latentChannels: try c.decode(Int.self, forKey: .latentChannels), latentHeight: try c.decode(Int.self, forKey: .latentHeight),
            latentWidth: try c.decode(Int.self, forKey: .latentWidth), patchSize: try c.decode(Int.self, forKey: .patchSize),
            perGroupHeads: try c.decodeIfPresent(Bool.self, forKey: .perGroupHeads) ?? true,
            normEps: try c.decodeIfPresent(Float.self, forKey: .normEps) ?? 1e-6,
            ropeTheta: try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10_000,
            mropeSections: try c.decodeIfPresent([Int].self, forKey: .mropeSections),
            timestepFrequencies: try c.decodeIfPresent(Int.self, forKey: .timestepFrequencies) ?? 256,
            attentionBias: try c.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false,
            inputSkip: try c.decodeIfPresent(Bool.self, forKey: .inputSkip) ?? false,
            absolutePositions: try c.decodeIfPresent(Bool.self, forKey: .absolutePositions) ?? false,
            backboneLayers: try c.decodeIfPresent([Int].self, forKey: .backboneLayers))
    }

    /// Qwen2-VL's split [16, 24, 24] of 64 frequency pairs, scaled to other head sizes.
    public static func defaultSections(headDim: Int) -> [Int] {
        let half = headDim / 2
        let t = half / 4, h = (half - t) / 2
        return [t, h, half - t - h]
    }

    /// Layers per group (M = L / K).
    public var layersPerGroup: Int { layerCount / groups }

    /// The backbone layer whose prompt keys and values generation layer `layer` reads.
    public func backboneLayer(pairedWith layer: Int) -> Int { backboneLayers?[layer] ?? layer }

    /// Backbone layers a prompt cache must hold for this generator: up to the highest paired one.
    public var promptLayersRead: Int { (backboneLayers?.last).map { $0 + 1 } ?? layerCount }

    /// Group boundaries b_0 = 0 < … < b_K = 1.
    public var resolvedBoundaries: [Float] {
        boundaries ?? (0...groups).map { Float($0) / Float(groups) }
    }

    /// Image tokens per latent.
    public var tokenCount: Int { (latentHeight / patchSize) * (latentWidth / patchSize) }
    /// Values per image token (p·p·C).
    public var patchValues: Int { patchSize * patchSize * latentChannels }

    /// The group that owns time t (t = 1 belongs to the last group).
    public func group(owning t: Float) -> Int {
        let b = resolvedBoundaries
        for k in 0..<groups where t < b[k + 1] { return k }
        return groups - 1
    }

    /// Checks the shape is buildable; errors say which field is wrong and why.
    public func validate() throws {
        func fail(_ why: String) -> GeneratorError { .invalidConfiguration(why) }
        guard layerCount > 0, groups > 0, layerCount % groups == 0 else {
            throw fail("layer_count \(layerCount) must split into groups \(groups) of equal size")
        }
        guard kvHeads > 0, headDim > 0, headDim % 2 == 0 else { throw fail("kv_heads \(kvHeads) and an even head_dim \(headDim) are required") }
        guard queryHeads > 0, queryHeads % kvHeads == 0 else {
            throw fail("query_heads \(queryHeads) must be a multiple of kv_heads \(kvHeads) (grouped-query attention)")
        }
        guard width > 0, mlpWidth > 0 else { throw fail("width and mlp_width must be positive") }
        if absolutePositions && width % 4 != 0 { throw fail("absolute_positions needs a width divisible by 4, got \(width)") }
        guard patchSize > 0, latentHeight % patchSize == 0, latentWidth % patchSize == 0, latentChannels > 0 else {
            throw fail("latent \(latentChannels)×\(latentHeight)×\(latentWidth) does not split into \(patchSize)×\(patchSize) patches")
        }
        guard mropeSections.count == 3, mropeSections.reduce(0, +) == headDim / 2, mropeSections.allSatisfy({ $0 >= 0 }) else {
            throw fail("mrope_sections \(mropeSections) must be three counts summing to head_dim/2 = \(headDim / 2)")
        }
        let b = resolvedBoundaries
        guard b.count == groups + 1, b.first == 0, b.last == 1, zip(b, b.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw fail("boundaries \(b) must be \(groups + 1) increasing values from 0 to 1")
        }
        guard timestepFrequencies > 0, timestepFrequencies % 2 == 0 else { throw fail("timestep_frequencies must be a positive even number") }
        if let paired = backboneLayers {
            guard paired.count == layerCount else {
                throw fail("backbone_layers pairs \(paired.count) backbone layers with \(layerCount) generation layers (layer_count): each generation layer reads exactly one")
            }
            guard paired.allSatisfy({ $0 >= 0 }), zip(paired, paired.dropFirst()).allSatisfy({ $0 < $1 }) else {
                throw fail("backbone_layers \(paired) must be increasing, non-negative backbone layer indices")
            }
        }
    }

    public static func load(from url: URL) throws -> GeneratorConfiguration {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw GeneratorError.invalidConfiguration("cannot read \(url.path): \(error.localizedDescription)") }
        do {
            let c = try JSONDecoder().decode(GeneratorConfiguration.self, from: data)
            try c.validate()
            return c
        } catch let e as GeneratorError {
            throw GeneratorError.invalidConfiguration("\(url.path): \(e)")
        } catch {
            throw GeneratorError.invalidConfiguration("\(url.path): \(error)")
        }
    }

    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}

/// Errors of the generator, its training and sampling.
public enum GeneratorError: Error, CustomStringConvertible, Equatable {
    case invalidConfiguration(String)
    case invalidInput(String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let s): return "invalid generator configuration: \(s)"
        case .invalidInput(let s): return "invalid input: \(s)"
        }
    }
}
