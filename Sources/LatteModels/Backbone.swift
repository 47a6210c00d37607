import LatteTensor

/// A frozen language model the LaTtE-Flow generator reads (issue 4, METHOD.md §2): it prefills a batch
/// of prompts once and hands back, per layer, the prompt's keys (after RoPE) and values. The LLaMA
/// family implements it here; Qwen2-VL's language model (LLaMA with q/k/v biases and M-RoPE) will too,
/// which is why the positions a prompt used are part of the answer rather than implied by its length.
///
/// LatteFlow's `PromptCache(keys:values:lengths:)` takes the result as is.
public protocol PromptBackbone: AnyObject {
    /// Transformer layers, each with one key/value pair per prompt.
    var layerCount: Int { get }
    /// The key/value geometry of `layer`: generation layers paired with it must match it.
    func kvGeometry(layer: Int) -> (kvHeads: Int, headDim: Int)
    /// Keys and values of `prompts` (token ids), computed without the tape.
    func encodePrompts(_ prompts: [[Int]]) -> BackbonePrompt
}

/// One batch of prefilled prompts.
public struct BackbonePrompt: @unchecked Sendable {
    /// Per layer: [B, kvHeads, T, headDim], right-padded to the longest prompt T.
    public var keys: [Tensor]
    public var values: [Tensor]
    /// Real length of each row (≤ T); the rest is padding to mask.
    public var lengths: [Int]
    /// The first free position of each row: where the generator's image tokens start. For plain 1-D
    /// RoPE it is the row's length; M-RoPE backbones with images in the prompt report their own.
    public var nextPositions: [Int]

    public init(keys: [Tensor], values: [Tensor], lengths: [Int], nextPositions: [Int]) {
        precondition(keys.count == values.count, "backbone prompt: \(keys.count) key layers but \(values.count) value layers")
        precondition(lengths.count == nextPositions.count, "backbone prompt: \(lengths.count) lengths but \(nextPositions.count) positions")
        (self.keys, self.values, self.lengths, self.nextPositions) = (keys, values, lengths, nextPositions)
    }
}

extension LLaMAModel: PromptBackbone {
    public var layerCount: Int { configuration.layerCount }

    public func kvGeometry(layer: Int) -> (kvHeads: Int, headDim: Int) {
        precondition(layer >= 0 && layer < configuration.layerCount,
                     "layer \(layer) outside the model's \(configuration.layerCount) layers")
        return (configuration.kvHeadCount, configuration.headDim)
    }

    public func encodePrompts(_ prompts: [[Int]]) -> BackbonePrompt {
        // Positions 0..<n per row: the next free one is the length.
        let (keys, values, lengths) = prefill(prompts: prompts)
        return BackbonePrompt(keys: keys, values: values, lengths: lengths, nextPositions: lengths)
    }
}
