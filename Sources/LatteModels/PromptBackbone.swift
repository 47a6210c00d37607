import LatteTensor

/// What the LaTtE-Flow generator needs from a frozen backbone (METHOD.md §2): prefill token prompts
/// once and hand back, per layer, the prompt's keys (after RoPE) and values, with their geometry.
/// Implemented by `LLaMAModel` and by Qwen2-VL's language model (`Qwen2VLModel`).
public protocol PromptBackbone: AnyObject {
    /// Number of layers L (the generator pairs one generation layer with each).
    var promptLayerCount: Int { get }
    /// K/V heads and head size of every layer's keys and values.
    var promptKVHeads: Int { get }
    var promptHeadDim: Int { get }
    /// Per layer [B, kvHeads, T, headDim] for right-padded prompts, and each prompt's real length.
    /// Computed without the tape (the backbone is frozen).
    func prefill(prompts: [[Int]]) -> (keys: [Tensor], values: [Tensor], lengths: [Int])
}

extension LLaMAModel: PromptBackbone {
    public var promptLayerCount: Int { configuration.layerCount }
    public var promptKVHeads: Int { configuration.kvHeadCount }
    public var promptHeadDim: Int { configuration.headDim }
}
