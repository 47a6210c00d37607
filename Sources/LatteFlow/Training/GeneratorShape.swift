import LatteModels

/// The generator's own choices when it is built for a backbone and a data set (`latte train`'s
/// --groups, --width, …); the rest of its configuration follows from the two.
public struct GeneratorShape: Sendable, Equatable {
    /// Timestep-expert groups K (1 = vanilla).
    public var groups: Int
    public var width: Int
    public var mlpWidth: Int
    public var residualAttention: ResidualAttentionMode
    public var inputSkip: Bool
    public var absolutePositions: Bool
    /// Query heads of the generation layers; nil: as many as the backbone has K/V heads. Copying the
    /// backbone's layers (`initialiseFromBackbone`) needs the backbone's own query-head count.
    public var queryHeads: Int?

    public init(groups: Int = 5, width: Int = 128, mlpWidth: Int = 384, residualAttention: ResidualAttentionMode = .preSoftmax,
                inputSkip: Bool = true, absolutePositions: Bool = true, queryHeads: Int? = nil) {
        self.queryHeads = queryHeads
        self.groups = groups
        self.width = width
        self.mlpWidth = mlpWidth
        self.residualAttention = residualAttention
        self.inputSkip = inputSkip
        self.absolutePositions = absolutePositions
    }
}

/// What the generator takes from its frozen backbone: the K/V geometry of every layer (its queries
/// attend to the prompt's keys) and the RoPE base its image positions rotate with.
public struct BackboneGeometry: Sendable, Equatable {
    public var layerCount: Int
    public var kvHeads: Int
    public var headDim: Int
    public var ropeTheta: Float

    public init(layerCount: Int, kvHeads: Int, headDim: Int, ropeTheta: Float) {
        self.layerCount = layerCount
        self.kvHeads = kvHeads
        self.headDim = headDim
        self.ropeTheta = ropeTheta
    }

    public init(_ backbone: PromptBackbone) {
        self.init(layerCount: backbone.promptLayerCount, kvHeads: backbone.promptKVHeads, headDim: backbone.promptHeadDim,
                  ropeTheta: backbone.promptRopeTheta)
    }
}

extension GeneratorConfiguration {
    /// A generator for `backbone` (named `name` in the configuration) and latents [C, H, W]: one
    /// generation layer per backbone layer with its K/V geometry, as many query heads as the backbone
    /// has K/V heads, one latent value per token (patch 1).
    public init(backbone name: String, geometry: BackboneGeometry, latentShape: [Int], shape: GeneratorShape) throws {
        guard latentShape.count == 3, latentShape.allSatisfy({ $0 > 0 }) else {
            throw GeneratorError.invalidInput("latents must be [channels, height, width], got \(latentShape)")
        }
        self.init(backbone: name, layerCount: geometry.layerCount, kvHeads: geometry.kvHeads, headDim: geometry.headDim,
                  width: shape.width, queryHeads: shape.queryHeads ?? geometry.kvHeads, mlpWidth: shape.mlpWidth, groups: shape.groups,
                  residualAttention: shape.residualAttention, latentChannels: latentShape[0], latentHeight: latentShape[1],
                  latentWidth: latentShape[2], patchSize: 1, ropeTheta: geometry.ropeTheta, inputSkip: shape.inputSkip,
                  absolutePositions: shape.absolutePositions)
        try validate()
    }
}
