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

/// DC-AE's `ResBlock` (rms_norm + SiLU variant used by its encoder and decoder):
/// x + norm(conv2(silu(conv1(x)))), conv2 without bias.
final class DCResBlock: Module, UnaryLayer {
    let conv1: Conv2d
    let conv2: Conv2d
    let norm: ChannelRMSNorm

    init(_ inChannels: Int, _ outChannels: Int) {
        conv1 = Conv2d(inChannels, inChannels, kernelSize: 3, padding: 1)
        conv2 = Conv2d(inChannels, outChannels, kernelSize: 3, padding: 1, bias: false)
        norm = ChannelRMSNorm(outChannels)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { norm(conv2(conv1(x).silu())) + x }
}
