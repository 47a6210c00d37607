import LatteTensor

/// What the LaTtE-Flow generator needs from a frozen backbone: prefill token prompts once and hand
/// back, per layer, the prompt's keys (after RoPE) and values, with their geometry. Implemented by
/// `LLaMAModel` and `Qwen2VLModel`; `Backbone.load` gives either from a name, a file or a folder.
public protocol PromptBackbone: AnyObject {
    /// Number of layers L (the generator pairs one generation layer with each).
    var promptLayerCount: Int { get }
    /// K/V heads and head size of every layer's keys and values.
    var promptKVHeads: Int { get }
    var promptHeadDim: Int { get }
    /// The RoPE base θ of the prompt keys (a generator rotating its own queries alike reads it here).
    var promptRopeTheta: Float { get }
    /// M-RoPE frequency sections (temporal, height, width) of a multimodal-RoPE backbone (Qwen2-VL's
    /// `mrope_section`), so a generator gives its image tokens the positions the backbone would; nil for
    /// a 1-D RoPE backbone (LLaMA), where any split is consistent with its prompt keys.
    var promptRopeSections: [Int]? { get }
    /// Per layer [B, kvHeads, T, headDim] for right-padded prompts, and each prompt's real length.
    /// Computed without the tape (the backbone is frozen).
    func prefill(prompts: [[Int]]) -> (keys: [Tensor], values: [Tensor], lengths: [Int])
}

extension PromptBackbone {
    public var promptRopeSections: [Int]? { nil }
}

/// A causal language model's geometry is the prompt's; `prefill(prompts:)` comes from its extension.
extension PromptBackbone where Self: CausalLanguageModel {
    public var promptLayerCount: Int { geometry.layerCount }
    public var promptKVHeads: Int { geometry.kvHeadCount }
    public var promptHeadDim: Int { geometry.headDim }
}

extension LLaMAModel: PromptBackbone {
    public var promptRopeTheta: Float { configuration.ropeTheta }
}
