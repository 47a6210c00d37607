import LatteTensor

/// A prompt cache with the tensors that depend only on it and on the generator's geometry: the image
/// tokens' rotary tables (their positions follow each prompt's length) and the padding masks. They
/// are the same at every network call of a sampling run (steps × Heun stages × guide), so the sampler
/// builds them once per run instead of once per call; a training step builds them once per group.
public struct PreparedPrompt: @unchecked Sendable {
    public let cache: PromptCache
    /// cos/sin [B, 1, N, headDim] of the image tokens' M-RoPE positions (docs/method.md §2).
    let rotary: (cos: Tensor, sin: Tensor)
    /// [B, 1, 1, T]: 0 on real prompt keys, −∞ on padding; nil when no row is padded.
    let promptBias: Tensor?
    /// `promptBias` extended with zeros over the N image columns: [B, 1, 1, T + N].
    let attentionBias: Tensor?

    /// Prepares `cache` for a generator of configuration `c`.
    public init(_ cache: PromptCache, configuration c: GeneratorConfiguration) {
        self.cache = cache
        let grid = (height: c.latentHeight / c.patchSize, width: c.latentWidth / c.patchSize)
        rotary = LatentPatches.rotaryTables(promptLengths: cache.lengths, gridHeight: grid.height, gridWidth: grid.width,
                                            headDim: c.headDim, theta: c.ropeTheta, sections: c.mropeSections)
        promptBias = cache.paddingBias
        attentionBias = promptBias?.padded(axis: 3, before: 0, after: grid.height * grid.width)
    }

    public var batch: Int { cache.batch }
}
