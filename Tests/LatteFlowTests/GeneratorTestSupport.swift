import LatteFlow
import LatteNN
import LatteTensor

/// A tiny configuration: 4 layers in 2 groups, 2 KV heads of 8, 4 query heads, 4×4×2 latents, patch 2.
func tinyConfiguration(groups: Int = 2, residual: ResidualAttentionMode = .preSoftmax, layers: Int = 4) -> GeneratorConfiguration {
    GeneratorConfiguration(backbone: "test", layerCount: layers, kvHeads: 2, headDim: 8, width: 16, queryHeads: 4, mlpWidth: 24,
                           groups: groups, residualAttention: residual, latentChannels: 2, latentHeight: 4, latentWidth: 4,
                           patchSize: 2, ropeTheta: 100)
}

/// Random per-layer prompt keys/values standing in for a frozen backbone's prefill.
func randomPrompt(_ c: GeneratorConfiguration, length: Int, seed: UInt64) -> PromptCache {
    var g = RandomGenerator(seed: seed)
    let keys = (0..<c.layerCount).map { _ in Tensor.normal([1, c.kvHeads, length, c.headDim], generator: &g) }
    let values = (0..<c.layerCount).map { _ in Tensor.normal([1, c.kvHeads, length, c.headDim], generator: &g) }
    return PromptCache(keys: keys, values: values, lengths: [length])
}

/// Overwrites every parameter with random values (zero-initialised gates and heads included), so
/// tests exercise every path.
func randomizeParameters(_ m: Module, seed: UInt64, std: Float = 0.3) {
    var g = RandomGenerator(seed: seed)
    for (_, p) in m.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: std, generator: &g)) }
}
