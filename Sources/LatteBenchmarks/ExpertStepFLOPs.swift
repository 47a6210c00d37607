import LatteFlow

/// Floating-point operations of one training sample through one expert group, counted from the
/// generator's geometry (a multiply-add is 2 FLOPs; norms, softmax, RoPE and activations are left out,
/// well under 1 % at both benchmark geometries).
///
/// Forward, per sample, with N image tokens, T prompt tokens, width d, Hq query and Hkv K/V heads of
/// size dh, MLP width m, P = p²·C values per patch, F timestep frequencies and M layers per group:
///
///     embeddings  2·(F·d + d·d) + 2·N·P·d                     timestep MLP, patch embedding
///     per layer   2·d·6d                                     adaLN shift/scale/gate (one row per sample)
///               + 2·N·d·(2·Hq·dh + 2·Hkv·dh)                 q, o and k, v projections
///               + 4·N·(T + N)·Hq·dh                          scores and weighted values over [prompt ; image]
///               + 6·N·d·m                                    SwiGLU (gate, up, down)
///     head        2·d·2d + 2·N·d·P·(1 + skip)                adaLN, output linear, input skip
///
/// Training = 3 × forward: the backward pass computes gradients for the inputs and for the weights of
/// every matrix product, each as costly as the forward product (the usual 6·params·tokens rule).
public struct ExpertStepFLOPs: Sendable, Equatable {
    public let forward: Double
    public var training: Double { 3 * forward }

    public init(_ c: GeneratorConfiguration, promptLength t: Int) {
        let n = Double(c.tokenCount), d = Double(c.width), p = Double(c.patchValues)
        let hq = Double(c.queryHeads), hkv = Double(c.kvHeads), dh = Double(c.headDim), m = Double(c.mlpWidth)
        let embeddings = 2 * (Double(c.timestepFrequencies) * d + d * d) + 2 * n * p * d
        let layer = 2 * d * 6 * d + 2 * n * d * (2 * hq * dh + 2 * hkv * dh) + 4 * n * (Double(t) + n) * hq * dh + 6 * n * d * m
        let head = 2 * d * 2 * d + 2 * n * d * p * (c.inputSkip ? 2 : 1)
        forward = embeddings + Double(c.layersPerGroup) * layer + head
    }
}
