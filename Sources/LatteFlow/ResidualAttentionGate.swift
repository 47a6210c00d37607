import LatteNN
import LatteTensor

/// γ_ℓ(t) = tanh(W·SiLU(temb) + b): one residual-attention gate per query head, zero-initialised so
/// training starts from plain attention (docs/method.md §4).
public final class ResidualAttentionGate: Module {
    public let proj: Linear

    public init(width: Int, heads: Int, generator: inout RandomGenerator) {
        proj = Linear(width, heads, weightInit: .constant(0), biasInit: .constant(0), generator: &generator)
    }

    /// SiLU(temb) [B, width] → gates [B, heads, 1, 1].
    public func callAsFunction(_ conditioning: Tensor) -> Tensor {
        let g = proj(conditioning).tanh()
        return g.reshaped([g.dim(0), g.dim(1), 1, 1])
    }
}
