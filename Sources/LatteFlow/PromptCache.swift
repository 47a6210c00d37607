import LatteTensor

/// The frozen backbone's per-layer keys (after RoPE) and values of a batch of prompts, computed once
/// per prompt and reused by every sampling step and every group (docs/method.md §2).
///
/// Prompts of different lengths are right-padded to the longest; `lengths` says how many keys of each
/// row are real, and the generator masks the rest.
public struct PromptCache: @unchecked Sendable {
    /// Per backbone layer: [B, kvHeads, T, headDim].
    public let keys: [Tensor]
    public let values: [Tensor]
    /// Real prompt length of each batch row (≤ T).
    public let lengths: [Int]

    public init(keys: [Tensor], values: [Tensor], lengths: [Int]) {
        precondition(keys.count == values.count, "prompt cache: \(keys.count) key layers but \(values.count) value layers")
        self.keys = keys.map { $0.detached() }
        self.values = values.map { $0.detached() }
        self.lengths = lengths
    }

    public var batch: Int { lengths.count }
    /// Padded length T.
    public var length: Int { keys.first?.dim(2) ?? 0 }
    public var layerCount: Int { keys.count }

    /// Stacks single- or multi-row caches along the batch, right-padding shorter prompts with zeros
    /// to the longest.
    public static func stack(_ caches: [PromptCache]) -> PromptCache {
        precondition(!caches.isEmpty, "stacking no prompt caches")
        return stack(caches, paddedTo: caches.map(\.length).max()!)
    }

    /// Stacks caches along the batch, right-padding every prompt with zeros to `length` keys (at least
    /// the longest): rows of a larger batch stacked apart keep the batch's layout.
    public static func stack(_ caches: [PromptCache], paddedTo length: Int) -> PromptCache {
        precondition(!caches.isEmpty, "stacking no prompt caches")
        precondition(caches.allSatisfy { $0.length <= length }, "a prompt is longer than the \(length) keys it is padded to")
        let t = length
        func pad(_ x: Tensor) -> Tensor { x.dim(2) == t ? x : x.padded(axis: 2, before: 0, after: t - x.dim(2)) }
        let layers = caches[0].layerCount
        let keys = (0..<layers).map { l in Tensor.concat(caches.map { pad($0.keys[l]) }, axis: 0) }
        let values = (0..<layers).map { l in Tensor.concat(caches.map { pad($0.values[l]) }, axis: 0) }
        return PromptCache(keys: keys, values: values, lengths: caches.flatMap(\.lengths))
    }

    /// The rows `rows` of the batch, in that order.
    public func selecting(rows: [Int]) -> PromptCache {
        let idx = Tensor(indices: rows)
        return PromptCache(keys: keys.map { $0.indexSelect(axis: 0, indices: idx) },
                           values: values.map { $0.indexSelect(axis: 0, indices: idx) },
                           lengths: rows.map { lengths[$0] })
    }

    /// Additive mask [B, 1, 1, T]: 0 on real keys, −∞ on padding; nil when nothing is padded.
    public var paddingBias: Tensor? {
        let t = length
        guard lengths.contains(where: { $0 < t }) else { return nil }
        var values = [Float](repeating: 0, count: batch * t)
        for (b, n) in lengths.enumerated() { for j in n..<t { values[b * t + j] = -.infinity } }
        return Tensor(values, shape: [batch, 1, 1, t])
    }
}
