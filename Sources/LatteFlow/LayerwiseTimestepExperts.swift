import LatteNN
import LatteTensor

/// The LaTtE-Flow generation pathway: L generation layers cut into K contiguous groups, each group a
/// complete velocity predictor for its own timestep interval — the lowest layers own the noisiest
/// times (docs/method.md §3). Only the owning group runs for a given t, so a sampling step costs L/K layers.
/// K = 1 is the vanilla baseline (all layers at every step).
public final class LayerwiseTimestepExperts: Module {
    public let configuration: GeneratorConfiguration
    public let patch_embed: Linear
    public let t_embedder: TimestepEmbedder
    public let layers: [GenerationLayer]
    /// One head per group, or a single shared head (`perGroupHeads`).
    public let heads: [OutputHead]

    /// The fixed position table added to the image tokens (`absolutePositions`), or nil.
    let positions: Tensor?

    /// Counts layer invocations (tests check that only the owning group runs).
    public private(set) var layerCalls = 0

    public init(_ c: GeneratorConfiguration, seed: UInt64 = 0) throws {
        try c.validate()
        configuration = c
        var g = RandomGenerator(seed: seed)
        patch_embed = Linear(c.patchValues, c.width, weightInit: .normal(std: 0.02), biasInit: .constant(0), generator: &g)
        t_embedder = TimestepEmbedder(frequencies: c.timestepFrequencies, width: c.width, generator: &g)
        let m = c.layersPerGroup
        layers = (0..<c.layerCount).map { l in
            // The first layer of each group has no residual attention: the chain resets at group
            // boundaries, since only one group runs at a time.
            GenerationLayer(c, residualGate: c.residualAttention != .off && l % m != 0, generator: &g)
        }
        positions = c.absolutePositions
            ? LatentPatches.sincosPositions(gridHeight: c.latentHeight / c.patchSize, gridWidth: c.latentWidth / c.patchSize, width: c.width)
            : nil
        heads = (0..<(c.perGroupHeads ? c.groups : 1)).map { _ in
            OutputHead(width: c.width, patchValues: c.patchValues, eps: c.normEps, inputSkip: c.inputSkip, generator: &g)
        }
    }

    /// Generation layers of group k (layer ℓ reads the keys and values of backbone layer
    /// `configuration.backboneLayer(pairedWith: ℓ)`).
    public func layerRange(group k: Int) -> Range<Int> {
        let m = configuration.layersPerGroup
        return (k * m)..<((k + 1) * m)
    }

    /// Predicted velocity [B, C, H, W] of group k for latents x_t [B, C, H, W] at times t (one per
    /// row, all owned by group k) under the prompts in `prompt` (one row per latent).
    public func velocity(_ x: Tensor, t: [Float], prompt: PromptCache, group k: Int) -> Tensor {
        precondition(k >= 0 && k < configuration.groups, "group \(k) out of range 0..<\(configuration.groups)")
        return velocity(x, t: t, prompt: prompt, layers: layerRange(group: k), head: k)
    }

    /// The velocity from an explicit run of layers and group k's head (the shared head when heads are
    /// not per group). `velocity(group:)` runs the group's own layers; the vanilla comparison of
    /// `ExpertRouting.allLayers` runs every layer at every step. The residual-attention chain restarts
    /// at each group's first layer, as in training.
    public func velocity(_ x: Tensor, t: [Float], prompt: PromptCache, layers range: Range<Int>, head k: Int) -> Tensor {
        velocity(x, t: t, prompt: prepare(prompt), layers: range, head: k)
    }

    /// `prompt` with its rotary tables and masks for this generator (reuse it across calls).
    public func prepare(_ prompt: PromptCache) -> PreparedPrompt {
        PreparedPrompt(prompt, configuration: configuration)
    }

    /// The velocity for a prepared prompt: what the sampler calls at every step.
    public func velocity(_ x: Tensor, t: [Float], prompt: PreparedPrompt, layers range: Range<Int>, head k: Int) -> Tensor {
        let c = configuration
        precondition(k >= 0 && k < c.groups, "head \(k) out of range 0..<\(c.groups)")
        precondition(range.lowerBound >= 0 && range.upperBound <= c.layerCount && !range.isEmpty, "layers \(range) out of 0..<\(c.layerCount)")
        precondition(x.rank == 4 && x.dim(1) == c.latentChannels && x.dim(2) == c.latentHeight && x.dim(3) == c.latentWidth,
                     "latent shape \(x.shape) differs from the configured [B, \(c.latentChannels), \(c.latentHeight), \(c.latentWidth)]")
        precondition(t.count == x.dim(0) && prompt.batch == x.dim(0), "\(x.dim(0)) latents, \(t.count) times and \(prompt.batch) prompts")
        precondition(c.backboneLayers == nil ? prompt.cache.layerCount == c.layerCount : prompt.cache.layerCount >= c.promptLayersRead,
                     "prompt cache has \(prompt.cache.layerCount) layers, the generator reads \(c.promptLayersRead)")
        precondition(prompt.rotary.cos.dim(2) == (c.latentHeight / c.patchSize) * (c.latentWidth / c.patchSize) && prompt.rotary.cos.dim(3) == c.headDim,
                     "the prompt was prepared for another generator geometry")

        let conditioning = t_embedder(t).silu()
        let tokensIn = LatentPatches.patchify(x, patch: c.patchSize)
        var h = patch_embed(tokensIn)
        if let positions { h = h + positions }
        var scores: Tensor? = nil
        for l in range {
            layerCalls += 1
            (h, scores) = layers[l](h, conditioning: conditioning, prompt: prompt, layer: c.backboneLayer(pairedWith: l), previousScores: scores)
        }
        let head = heads[c.perGroupHeads ? k : 0]
        let tokens = head(h, conditioning: conditioning, input: tokensIn)
        return LatentPatches.unpatchify(tokens, patch: c.patchSize, channels: c.latentChannels, height: c.latentHeight, width: c.latentWidth)
    }
}

// MARK: - Copy-initialisation

extension LayerwiseTimestepExperts {
    /// The per-layer weights a generation layer shares with its backbone twin (LMFusion practice).
    static let copiedLayerKeys = [
        "input_layernorm.weight", "post_attention_layernorm.weight",
        "self_attn.q_proj.weight", "self_attn.k_proj.weight", "self_attn.v_proj.weight", "self_attn.o_proj.weight",
        "self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias",
        "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight",
    ]

    /// Initialises every generation layer ℓ as a copy of the backbone layer it pairs with (ℓ unless
    /// `backboneLayers` says otherwise), given the backbone's weights
    /// under Hugging Face names (`model.layers.ℓ.self_attn.q_proj.weight`, …). Needs the generation width
    /// to equal the backbone's; the timestep modulation, residual gates, patch embedding and heads keep
    /// their own (zero or fresh) initialisation. Returns the number of tensors copied.
    @discardableResult
    public func initialiseFromBackbone(_ weights: [String: Tensor], prefix: String = "model.layers") throws -> Int {
        let own = parameterDictionary()
        var copied = 0
        for l in 0..<configuration.layerCount {
            let b = configuration.backboneLayer(pairedWith: l)
            for key in Self.copiedLayerKeys {
                guard let source = weights["\(prefix).\(b).\(key)"] else {
                    if key.hasSuffix(".bias") { continue }   // LLaMA has no q/k/v biases
                    throw GeneratorError.invalidInput("backbone weights lack \(prefix).\(b).\(key)")
                }
                let ownKey = "layers.\(l).\(key.replacingOccurrences(of: "self_attn.", with: ""))"
                guard let target = own[ownKey] else {
                    throw GeneratorError.invalidInput("backbone has \(prefix).\(b).\(key) but the generator has no \(ownKey) (set attention_bias: latte train --attention-bias)")
                }
                guard source.shape == target.shape else {
                    throw GeneratorError.invalidInput("cannot copy \(prefix).\(b).\(key) \(source.shape) into \(ownKey) \(target.shape): copy-initialisation needs the backbone's width")
                }
                target.assign(source.toFloat32().contiguous())
                copied += 1
            }
        }
        return copied
    }
}
