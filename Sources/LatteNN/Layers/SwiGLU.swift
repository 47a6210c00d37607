import LatteTensor

/// The gated MLP of LLaMA / Qwen2: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)), no biases.
public final class SwiGLU: Module, UnaryLayer {
    public let gate_proj: Linear
    public let up_proj: Linear
    public let down_proj: Linear

    public init(hiddenSize: Int, intermediateSize: Int, generator: inout RandomGenerator) {
        gate_proj = Linear(hiddenSize, intermediateSize, bias: false, generator: &generator)
        up_proj = Linear(hiddenSize, intermediateSize, bias: false, generator: &generator)
        down_proj = Linear(intermediateSize, hiddenSize, bias: false, generator: &generator)
    }

    /// Placeholders for a checkpoint.
    public init(hiddenSize: Int, intermediateSize: Int) {
        gate_proj = Linear(hiddenSize, intermediateSize, bias: false)
        up_proj = Linear(hiddenSize, intermediateSize, bias: false)
        down_proj = Linear(intermediateSize, hiddenSize, bias: false)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        down_proj(gate_proj(x).silu() * up_proj(x))
    }
}
