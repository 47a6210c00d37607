import LatteKernels
import LatteTensor

/// y = x·Wᵀ + b with the weight stored [out, in], as checkpoints store it (torch.nn.Linear).
public final class Linear: Module, UnaryLayer {
    public let weight: Parameter
    public let bias: Parameter?
    /// When set, the forward pass uses these block-quantised weights instead of `weight` (inference
    /// only; the loader leaves `weight` a frozen placeholder).
    public var quantizedWeight: QuantizedWeight?
    /// When set and the weight is bf16, inputs of at most `BFloat16Projection.maxRows` rows (decoding)
    /// are multiplied by a GEMV that reads the bf16 weight directly instead of converting it to a
    /// float32 copy first. Off by default: its sums round differently from the converting GEMM's, and
    /// each model keeps the results it was checked with (Qwen2-VL turns it on).
    public var readsBFloat16Directly = false
    /// When set, the forward pass multiplies by this pre-packed copy of the weight (`packForInference`,
    /// inference only; `weight` is then a placeholder).
    public internal(set) var packedWeight: GemmPackedWeight?

    /// Randomly initialised: by default U(±1/√in) for weight and bias, as torch.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true,
                weightInit: Initializer = .torchDefault, biasInit: Initializer = .torchDefault,
                generator: inout RandomGenerator) {
        weight = Parameter(weightInit.make([outFeatures, inFeatures], fanIn: inFeatures, generator: &generator))
        self.bias = bias ? Parameter(biasInit.make([outFeatures], fanIn: inFeatures, generator: &generator)) : nil
    }

    /// Zero placeholders (one element of memory) for a layer whose values come from a checkpoint.
    public init(_ inFeatures: Int, _ outFeatures: Int, bias: Bool = true) {
        weight = Parameter(.placeholderZeros([outFeatures, inFeatures]))
        self.bias = bias ? Parameter(.placeholderZeros([outFeatures])) : nil
    }

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        if let quantizedWeight { return quantizedWeight.linear(x, bias: bias?.tensor) }
        if readsBFloat16Directly { return BFloat16Projection.apply(x, weight: weight.tensor, bias: bias?.tensor) }
        if let packedWeight { return packedWeight.linear(x, bias: bias?.tensor) }
        return Tensor.linear(x, weight: weight.tensor, bias: bias?.tensor)
    }
}

/// A lookup table [count, dimensions] of vectors picked by integer ids (torch.nn.Embedding).
public final class Embedding: Module {
    public let weight: Parameter
    /// When set, lookups and `asLinear` use these block-quantised rows instead of `weight`.
    public var quantizedWeight: QuantizedWeight?
    /// When set and the weight is bf16, inputs of at most `BFloat16Projection.maxRows` rows (decoding)
    /// are multiplied by a GEMV that reads the bf16 weight directly instead of converting it to a
    /// float32 copy first. Off by default: its sums round differently from the converting GEMM's, and
    /// each model keeps the results it was checked with (Qwen2-VL turns it on).
    public var readsBFloat16Directly = false

    /// Randomly initialised N(0, 1), as torch.
    public init(_ count: Int, _ dimensions: Int, initializer: Initializer = .normal(std: 1), generator: inout RandomGenerator) {
        weight = Parameter(initializer.make([count, dimensions], fanIn: dimensions, generator: &generator))
    }

    /// Zero placeholder for a table loaded from a checkpoint.
    public init(_ count: Int, _ dimensions: Int) {
        weight = Parameter(.placeholderZeros([count, dimensions]))
    }

    /// ids of any shape (integer tensor) → [ids…, dimensions].
    public func callAsFunction(_ ids: Tensor) -> Tensor {
        if let quantizedWeight { return quantizedWeight.gatherRows(ids) }
        return Tensor.embedding(ids, table: weight.tensor)
    }

    /// x·tableᵀ: the tied output projection (logits over the vocabulary).
    public func asLinear(_ x: Tensor) -> Tensor {
        if let quantizedWeight { return quantizedWeight.linear(x) }
        return Tensor.linear(x, weight: weight.tensor)
    }
}
