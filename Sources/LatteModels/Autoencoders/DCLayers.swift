import LatteNN
import LatteTensor

extension LayerMaker {
    /// A conv with groups and an optional bias (DC-AE's depthwise, grouped and bias-free convs),
    /// random as torch or a zero placeholder like `conv(_:_:kernel:stride:padding:)`.
    mutating func dcConv(_ i: Int, _ o: Int, kernel: Int, stride: Int = 1, padding: Int = 0,
                         groups: Int = 1, bias: Bool = true) -> Conv2d {
        if generator != nil {
            return Conv2d(i, o, kernelSize: kernel, stride: stride, padding: padding, groups: groups, bias: bias,
                          generator: &generator!)
        }
        return Conv2d(i, o, kernelSize: kernel, stride: stride, padding: padding, groups: groups, bias: bias)
    }

    /// A bias-free linear layer (the q/k/v/out projections of Sana's multiscale attention).
    mutating func dcLinear(_ i: Int, _ o: Int) -> Linear {
        if generator != nil { return Linear(i, o, bias: false, generator: &generator!) }
        return Linear(i, o, bias: false)
    }
}

/// torch.nn.BatchNorm2d in inference mode (running statistics; DC-AE checkpoints are only run, and
/// diffusers' decoder uses batch_norm in some stages). Keys `weight`, `bias`, `running_mean`,
/// `running_var`; the running statistics are not trainable. torch also stores an integer
/// `num_batches_tracked`, which AutoencoderDC's loader drops because it never affects the output.
final class BatchNorm2d: Module, UnaryLayer {
    let weight: Parameter
    let bias: Parameter
    let running_mean: Parameter
    let running_var: Parameter
    let eps: Float

    init(_ channels: Int, eps: Float = 1e-5) {
        weight = Parameter(.ones([channels]))
        bias = Parameter(.zeros([channels]))
        running_mean = Parameter(.zeros([channels]), trainable: false)
        running_var = Parameter(.ones([channels]), trainable: false)
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let c = weight.shape[0]
        // (x − μ)·γ/√(σ² + ε) + β with the per-channel factors folded first (cheap: C elements).
        let scale = weight.tensor * (running_var.tensor + eps).rsqrt()
        let shift = bias.tensor - running_mean.tensor * scale
        return x * scale.reshaped([1, c, 1, 1]) + shift.reshaped([1, c, 1, 1])
    }
}

/// The normalisations diffusers' `get_normalization` offers DC-AE blocks, applied across channels.
enum DCNormType: String {
    case rmsNorm = "rms_norm", batchNorm = "batch_norm"

    func make(_ channels: Int) -> any UnaryLayer {
        switch self {
        case .rmsNorm: return ChannelRMSNorm(channels)
        case .batchNorm: return BatchNorm2d(channels)
        }
    }
}

/// The activations diffusers' `get_activation` offers that DC-AE configs name.
enum DCActivation: String {
    case silu, swish, relu, gelu

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .silu, .swish: return x.silu()
        case .relu: return x.relu()
        case .gelu: return x.gelu()   // nn.GELU(): the exact erf form
        }
    }
}
