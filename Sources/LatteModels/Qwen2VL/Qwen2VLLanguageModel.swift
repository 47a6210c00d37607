import Foundation
import LatteNN
import LatteTensor

// MARK: - Language

/// Position ids of a batch for M-RoPE: per row, three streams (temporal, height, width) of T ids.
/// Text positions have the three equal; image tokens differ (see `Qwen2VLRopeIndex`).
public struct Qwen2VLPositions: Sendable, Equatable {
    public var rows: [[[Int]]]

    public init(rows: [[[Int]]]) { self.rows = rows }

    /// Plain positions start..<start+count in all three streams for `batch` rows.
    public static func text(start: Int, count: Int, batch: Int = 1) -> Qwen2VLPositions {
        let p = Array(start..<(start + count))
        return Qwen2VLPositions(rows: [[[Int]]](repeating: [p, p, p], count: batch))
    }

    public var batch: Int { rows.count }
    public var length: Int { rows.first?.first?.count ?? 0 }

    /// cos/sin tables: [T, D] when every row has the same positions, else [B, 1, T, D].
    func rotary(sections: [Int], headDim: Int, theta: Float) -> (cos: Tensor, sin: Tensor) {
        let first = Rotary.multimodalTables(positions: rows[0], sections: sections, headDim: headDim, theta: theta)
        if rows.allSatisfy({ $0 == rows[0] }) { return first }
        let tables = rows.map { Rotary.multimodalTables(positions: $0, sections: sections, headDim: headDim, theta: theta) }
        let t = length
        return (Tensor.concat(tables.map { $0.cos.reshaped([1, 1, t, headDim]) }, axis: 0),
                Tensor.concat(tables.map { $0.sin.reshaped([1, 1, t, headDim]) }, axis: 0))
    }
}

/// The Qwen2 language model as a `CausalLanguageModel`: the shared decoder stack (q/k/v biases) under
/// M-RoPE, the bf16-aware output head, and prompts whose image tokens the vision tower fills. After a
/// prompt with images, later positions are cache length + the rope delta (transformers'
/// `rope_deltas`), which the cache carries as its `positionOffset`.
extension Qwen2VLModel: CausalLanguageModel {
    public var geometry: LanguageModelGeometry {
        let t = configuration.text
        return LanguageModelGeometry(layerCount: t.layerCount, kvHeadCount: t.kvHeadCount, headDim: t.headDim, hiddenSize: t.hiddenSize,
                                     vocabularySize: t.vocabularySize, contextLength: t.maxPositionEmbeddings)
    }

    /// Text ids [B, T] at positions following `cache?.nextPosition` in all three streams.
    public func hiddenStates(_ tokens: Tensor, cache: KVCache?) -> Tensor {
        precondition(tokens.rank == 2, "Qwen2-VL expects token ids [B, T], got \(tokens.shape)")
        let positions = Qwen2VLPositions.text(start: cache?.nextPosition ?? 0, count: tokens.shape[1], batch: tokens.shape[0])
        return hiddenStates(embeddings: model.embed(tokens), positions: positions, cache: cache)
    }

    /// A prompt with optional images: image-pad embeddings replaced by the vision tower's features, its
    /// M-RoPE positions, and the rope delta left in the cache for the tokens that follow.
    public func promptHiddenStates(_ tokens: [Int], images: Qwen2VLVisionInput?, cache: KVCache) throws -> Tensor {
        let (embeddings, positions, delta) = try prepare(tokens: tokens, vision: images)
        cache.positionOffset = delta
        return hiddenStates(embeddings: embeddings, positions: positions, cache: cache)
    }

    /// Logits over the vocabulary for hidden states […, hidden].
    public func logits(_ hidden: Tensor) -> Tensor { logits(hidden, headBlockRows: 8192) }

    /// Final hidden states [B, T, hidden] of input embeddings [B, T, hidden] at `positions`.
    func hiddenStates(embeddings: Tensor, positions: Qwen2VLPositions, cache: KVCache?) -> Tensor {
        let c = configuration.text
        precondition(positions.batch == embeddings.shape[0] && positions.length == embeddings.shape[1],
                     "positions for \(positions.batch)×\(positions.length) tokens, embeddings \(embeddings.shape)")
        let rotary = positions.rotary(sections: c.mropeSection, headDim: c.headDim, theta: c.ropeTheta)
        return model(embeddings: embeddings, rotary: rotary, cache: cache)
    }
}
