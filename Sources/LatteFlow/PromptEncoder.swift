import LatteModels
import LatteTensor

/// Turns token prompts into `PromptCache`s with the frozen backbone, prefilling each distinct prompt
/// once and reusing it afterwards (sampling steps, groups, training epochs over class prompts).
public final class PromptEncoder {
    public let backbone: PromptBackbone
    private var cache: [[Int]: PromptCache] = [:]
    /// Backbone prefills run so far (tests check that each prompt costs one).
    public private(set) var prefills = 0

    public init(backbone: PromptBackbone) {
        self.backbone = backbone
    }

    /// Checks that a generator's K/V geometry matches this backbone.
    public func check(_ c: GeneratorConfiguration) throws {
        guard c.layerCount == backbone.promptLayerCount, c.kvHeads == backbone.promptKVHeads, c.headDim == backbone.promptHeadDim else {
            throw GeneratorError.invalidConfiguration(
                "generator expects \(c.layerCount) layers of \(c.kvHeads) K/V heads × \(c.headDim), the backbone has \(backbone.promptLayerCount) × \(backbone.promptKVHeads) × \(backbone.promptHeadDim)")
        }
    }

    /// The cache of one prompt (one row).
    public func encode(_ tokens: [Int]) throws -> PromptCache {
        guard !tokens.isEmpty else { throw GeneratorError.invalidInput("an empty prompt has no tokens to attend to") }
        if let hit = cache[tokens] { return hit }
        let (k, v, lengths) = backbone.prefill(prompts: [tokens])
        prefills += 1
        let c = PromptCache(keys: k, values: v, lengths: lengths)
        cache[tokens] = c
        return c
    }

    /// Rows for several prompts, stacked (each distinct prompt prefilled once).
    public func encode(batch prompts: [[Int]]) throws -> PromptCache {
        PromptCache.stack(try prompts.map { try encode($0) })
    }
}
