import LatteNN
import LatteTensor

/// The final adaptive norm and linear map back to patch values; zero-initialised so an untrained
/// generator predicts zero velocity (docs/method.md §2). With `inputSkip`, plus s(t) ⊙ x_t (zero at start).
public final class OutputHead: Module {
    public let norm: RMSNorm
    public let adaLN_modulation: Linear
    public let linear: Linear
    /// SiLU(temb) → one scale per patch value, multiplying the input tokens.
    public let skip: Linear?

    public init(width: Int, patchValues: Int, eps: Float, inputSkip: Bool = false, generator: inout RandomGenerator) {
        norm = RMSNorm(width, eps: eps)
        adaLN_modulation = Linear(width, 2 * width, weightInit: .constant(0), biasInit: .constant(0), generator: &generator)
        linear = Linear(width, patchValues, weightInit: .constant(0), biasInit: .constant(0), generator: &generator)
        skip = inputSkip ? Linear(width, patchValues, weightInit: .constant(0), biasInit: .constant(0), generator: &generator) : nil
    }

    /// h [B, N, width], conditioning [B, width], input the image tokens x_t [B, N, patchValues].
    public func callAsFunction(_ h: Tensor, conditioning: Tensor, input: Tensor? = nil) -> Tensor {
        let (b, w) = (h.dim(0), h.dim(2))
        let mod = adaLN_modulation(conditioning).reshaped([b, 1, 2 * w]).chunked(2, axis: 2)
        let out = linear(norm(h) * (mod[1] + 1) + mod[0])
        guard let skip else { return out }
        precondition(input != nil, "an output head with an input skip needs the input tokens")
        return out + skip(conditioning).reshaped([b, 1, out.dim(2)]) * input!
    }
}
