import LatteNN
import LatteTensor

/// diffusers' `RMSNorm(C, eps, elementwise_affine: true, bias: true)` applied across the channels of
/// an NCHW tensor, as DC-AE's blocks use it (keys `weight`, `bias`).
final class ChannelRMSNorm: Module, UnaryLayer {
    let weight: Parameter
    let bias: Parameter
    let eps: Float

    init(_ channels: Int, eps: Float = 1e-5) {
        weight = Parameter(.ones([channels]))
        bias = Parameter(.zeros([channels]))
        self.eps = eps
    }

    func callAsFunction(_ x: Tensor) -> Tensor { x.channelRMSNormed(weight: weight.tensor, bias: bias.tensor, eps: eps) }
}

/// DC-AE's `ResBlock`: x + norm(conv2(act(conv1(x)))), conv2 without bias. The encoder always uses
/// rms_norm + SiLU; the decoder takes each stage's norm (rms_norm or batch_norm) and activation.
final class DCResBlock: Module, UnaryLayer {
    let conv1: Conv2d
    let conv2: Conv2d
    let norm: any UnaryLayer
    let activation: DCActivation

    init(_ inChannels: Int, _ outChannels: Int, norm: DCNormType = .rmsNorm, activation: DCActivation = .silu,
         maker: inout LayerMaker) {
        conv1 = maker.dcConv(inChannels, inChannels, kernel: 3, padding: 1)
        conv2 = maker.dcConv(inChannels, outChannels, kernel: 3, padding: 1, bias: false)
        self.norm = norm.make(outChannels)
        self.activation = activation
    }

    /// Zero placeholders, to be loaded.
    convenience init(_ inChannels: Int, _ outChannels: Int, norm: DCNormType = .rmsNorm, activation: DCActivation = .silu) {
        var maker = LayerMaker()
        self.init(inChannels, outChannels, norm: norm, activation: activation, maker: &maker)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { norm(conv2(activation(conv1(x)))) + x }
}
