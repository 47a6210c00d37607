import Foundation
import LatteModels
import LatteTensor
import LatteTokenizers

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

    /// Checks that a generator's K/V geometry matches this backbone, and that every backbone layer it
    /// pairs with exists (all L of them, in order, when it names none).
    public func check(_ c: GeneratorConfiguration) throws {
        let l = backbone.promptLayerCount
        guard c.kvHeads == backbone.promptKVHeads, c.headDim == backbone.promptHeadDim, c.backboneLayers != nil || c.layerCount == l else {
            throw GeneratorError.invalidConfiguration(
                "generator expects \(c.layerCount) layers of \(c.kvHeads) K/V heads × \(c.headDim), the backbone has \(l) × \(backbone.promptKVHeads) × \(backbone.promptHeadDim)")
        }
        if let paired = c.backboneLayers, let missing = paired.first(where: { $0 >= l }) {
            throw GeneratorError.invalidConfiguration(
                "generator layer \(paired.firstIndex(of: missing)!) pairs with backbone layer \(missing) (backbone_layers), but the backbone has \(l) layers (0-\(l - 1))")
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

/// How prompt text becomes the token ids the backbone prefills: the start token, then the text's own
/// tokens (no special tokens); the null prompt (guidance, dropped conditions) is the start token alone,
/// so the backbone always has a token to prefill. Training and `TextToImagePipeline` both tokenise through it.
public struct PromptTokens {
    public let tokenizer: Tokenizer
    public let startID: Int
    /// Longest prompt text, in tokens.
    public static let maximumLength = 512

    public init(tokenizer: Tokenizer, startToken: String) throws {
        guard let id = tokenizer.tokenToID(startToken) else {
            throw GeneratorError.invalidConfiguration("prompt start token '\(startToken)' is not in the backbone's vocabulary")
        }
        self.tokenizer = tokenizer
        startID = id
    }

    public func tokens(for prompt: String) throws -> [Int] {
        let ids = tokenizer.encode(prompt.trimmingCharacters(in: .whitespacesAndNewlines), addSpecialTokens: false)
        guard ids.count <= Self.maximumLength else {
            throw GeneratorError.invalidInput("the prompt has \(ids.count) tokens; at most \(Self.maximumLength) are supported")
        }
        return [startID] + ids
    }

    public var nullTokens: [Int] { [startID] }
}
