import LatteTensor

/// x / √(mean(x²) + eps) · weight over the last dimension (LLaMA / Qwen2 RMSNorm); weight starts at 1.
public final class RMSNorm: Module, UnaryLayer {
    public let weight: Parameter
    public let eps: Float

    public init(_ dimensions: Int, eps: Float = 1e-6) {
        weight = Parameter(.ones([dimensions]))
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { Tensor.rmsNorm(x, weight: weight.tensor, eps: eps) }
}

/// (x − mean) / √(var + eps) over the last dimension, then an optional affine (torch.nn.LayerNorm).
public final class LayerNorm: Module, UnaryLayer {
    public let weight: Parameter?
    public let bias: Parameter?
    public let eps: Float

    public init(_ dimensions: Int, eps: Float = 1e-5, affine: Bool = true, bias: Bool = true) {
        weight = affine ? Parameter(.ones([dimensions])) : nil
        self.bias = affine && bias ? Parameter(.zeros([dimensions])) : nil
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.layerNorm(x, weight: weight?.tensor, bias: bias?.tensor, eps: eps)
    }
}

/// torch.nn.GroupNorm over [N, C, …]: statistics per group of C/groups channels, per-channel affine.
public final class GroupNorm: Module, UnaryLayer {
    public let weight: Parameter?
    public let bias: Parameter?
    public let groups: Int
    public let eps: Float

    public init(groups: Int, channels: Int, eps: Float = 1e-5, affine: Bool = true) {
        precondition(channels % groups == 0, "GroupNorm: \(channels) channels do not split into \(groups) groups")
        weight = affine ? Parameter(.ones([channels])) : nil
        bias = affine ? Parameter(.zeros([channels])) : nil
        self.groups = groups
        self.eps = eps
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        Tensor.groupNorm(x, groups: groups, weight: weight?.tensor, bias: bias?.tensor, eps: eps)
    }

    /// silu(self(x)), fused into one pass when no gradient is recorded (Tensor.groupNormSiLU).
    public func silu(_ x: Tensor) -> Tensor {
        Tensor.groupNormSiLU(x, groups: groups, weight: weight?.tensor, bias: bias?.tensor, eps: eps)
    }
}
