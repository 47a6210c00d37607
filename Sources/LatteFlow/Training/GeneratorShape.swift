import LatteModels

/// The generator's own choices when it is built for a backbone and a data set (`latte train`'s
/// --groups, --width, … or a `--generator-config` file, see `GeneratorShape.Overrides`); the rest of
/// its configuration follows from the two. The defaults are the committed default model's recipe
/// (models/latteflow-fashion: K = 5 × 6 on SmolLM2, width 128, SwiGLU 384, query heads = the
/// backbone's K/V heads, patch 1, pre-softmax residual attention, input skip, absolute positions).
public struct GeneratorShape: Sendable, Equatable {
    /// Timestep-expert groups K (1 = vanilla).
    public var groups: Int
    /// Generation layers per group M; nil: the paired backbone layers split into K equal groups.
    /// Given, K × M must equal the number of paired backbone layers.
    public var layersPerGroup: Int?
    public var width: Int
    public var mlpWidth: Int
    public var residualAttention: ResidualAttentionMode
    public var inputSkip: Bool
    /// Image positions are always M-RoPE (relative); this adds DiT's fixed 2-D table (both).
    public var absolutePositions: Bool
    /// Query heads of the generation layers; nil: as many as the backbone has K/V heads. Copying the
    /// backbone's layers (`initialiseFromBackbone`) needs the backbone's own query-head count.
    public var queryHeads: Int?
    /// p: each p×p patch of the latent is one image token.
    public var patchSize: Int
    /// Biases on the q/k/v projections; copying a Qwen2(-VL) backbone's layers needs them.
    public var attentionBias: Bool
    /// Which backbone layers the generation layers read (default: all, one generation layer each).
    public var backboneLayers: BackboneLayerSelection
    /// The times where one expert hands over to the next: K + 1 increasing values from 0 to 1, group k
    /// owning [b_k, b_{k+1}); nil: uniform (k/K), and generator.json records none, as before the option.
    public var boundaries: [Float]?

    public init(groups: Int = 5, width: Int = 128, mlpWidth: Int = 384, residualAttention: ResidualAttentionMode = .preSoftmax,
                inputSkip: Bool = true, absolutePositions: Bool = true, queryHeads: Int? = nil, patchSize: Int = 1,
                layersPerGroup: Int? = nil, attentionBias: Bool = false, backboneLayers: BackboneLayerSelection = .all,
                boundaries: [Float]? = nil) {
        self.boundaries = boundaries
        self.queryHeads = queryHeads
        self.groups = groups
        self.width = width
        self.mlpWidth = mlpWidth
        self.residualAttention = residualAttention
        self.inputSkip = inputSkip
        self.absolutePositions = absolutePositions
        self.patchSize = patchSize
        self.layersPerGroup = layersPerGroup
        self.attentionBias = attentionBias
        self.backboneLayers = backboneLayers
    }
}

/// What the generator takes from its frozen backbone: the K/V geometry of every layer (its queries
/// attend to the prompt's keys) and the rotary positions its image tokens continue: the RoPE base and,
/// for an M-RoPE backbone (Qwen2-VL), its frequency sections.
public struct BackboneGeometry: Sendable, Equatable {
    public var layerCount: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ropeTheta: Float
    /// The backbone's M-RoPE sections (temporal, height, width); nil for a 1-D RoPE backbone.
    public var mropeSections: [Int]?

    public init(layerCount: Int, kvHeads: Int, headDim: Int, ropeTheta: Float, mropeSections: [Int]? = nil) {
        self.layerCount = layerCount
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.ropeTheta = ropeTheta
        self.mropeSections = mropeSections
    }

    public init(_ backbone: PromptBackbone) {
        self.init(layerCount: backbone.promptLayerCount, kvHeads: backbone.promptKVHeads, headDim: backbone.promptHeadDim,
                  ropeTheta: backbone.promptRopeTheta, mropeSections: backbone.promptRopeSections)
    }
}

extension GeneratorConfiguration {
    /// A generator for `backbone` (named `name` in the configuration) and latents [C, H, W]: one
    /// generation layer per paired backbone layer (`shape.backboneLayers`, default all) with its K/V
    /// geometry, image positions rotating with the backbone's θ and M-RoPE sections (Qwen2-VL's
    /// `mrope_section`; Qwen2-VL's proportions for a 1-D RoPE backbone).
    public init(backbone name: String, geometry: BackboneGeometry, latentShape: [Int], shape: GeneratorShape) throws {
        guard latentShape.count == 3, latentShape.allSatisfy({ $0 > 0 }) else {
            throw GeneratorError.invalidInput("latents must be [channels, height, width], got \(latentShape)")
        }
        let paired = try shape.backboneLayers.resolve(layerCount: geometry.layerCount)
        guard shape.groups >= 1 else { throw GeneratorError.invalidConfiguration("groups must be at least 1, got \(shape.groups)") }
        let pairing = "backbone layers '\(shape.backboneLayers)' of \(geometry.layerCount) pair \(paired.count)"
        if let m = shape.layersPerGroup, m < 1 || shape.groups * m != paired.count {
            throw GeneratorError.invalidConfiguration(
                "\(shape.groups) groups × \(m) layers per group = \(shape.groups * m) generation layers, but \(pairing) backbone layers: each generation layer reads exactly one")
        }
        guard paired.count % shape.groups == 0 else {
            throw GeneratorError.invalidConfiguration("\(pairing) backbone layers, which do not split into \(shape.groups) groups of equal size")
        }
        self.init(backbone: name, layerCount: paired.count, kvHeads: geometry.kvHeads, headDim: geometry.headDim,
                  width: shape.width, queryHeads: shape.queryHeads ?? geometry.kvHeads, mlpWidth: shape.mlpWidth, groups: shape.groups,
                  boundaries: shape.boundaries, residualAttention: shape.residualAttention, latentChannels: latentShape[0], latentHeight: latentShape[1],
                  latentWidth: latentShape[2], patchSize: shape.patchSize, ropeTheta: geometry.ropeTheta,
                  mropeSections: geometry.mropeSections, attentionBias: shape.attentionBias, inputSkip: shape.inputSkip,
                  absolutePositions: shape.absolutePositions,
                  // Every layer in order is the historical default: recorded as absent, so such models
                  // keep the generator.json they always had.
                  backboneLayers: paired == Array(0..<geometry.layerCount) ? nil : paired)
        try validate()
    }
}
