import LatteTensor

/// Layers applied in order; parameters are keyed `layers.0.…`, `layers.1.…` (parameterless layers
/// such as activations still take their index, as torch.nn.Sequential numbers them).
public final class Sequential: Module, UnaryLayer {
    public let layers: [any UnaryLayer]

    public init(_ layers: [any UnaryLayer]) { self.layers = layers }

    public func callAsFunction(_ x: Tensor) -> Tensor { layers.reduce(x) { $1($0) } }
}

/// A parameterless element-wise function as a layer (for `Sequential`).
public final class Activation: Module, UnaryLayer {
    public enum Kind: Sendable { case silu, gelu, geluTanh, relu, tanh, sigmoid }
    public let kind: Kind

    public init(_ kind: Kind) { self.kind = kind }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        switch kind {
        case .silu: return x.silu()
        case .gelu: return x.gelu()
        case .geluTanh: return x.gelu(approximation: .tanh)
        case .relu: return x.relu()
        case .tanh: return x.tanh()
        case .sigmoid: return x.sigmoid()
        }
    }
}
