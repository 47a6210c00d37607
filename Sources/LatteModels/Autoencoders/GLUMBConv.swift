import LatteNN
import LatteTensor

/// The gated inverted-bottleneck conv of DC-AE's EfficientViTBlock (diffusers' `GLUMBConv` with
/// rms_norm and a residual): 1×1 expand to 2·hidden, SiLU, depthwise 3×3, split into value and gate,
/// value·silu(gate), 1×1 project without bias, channel RMSNorm, + input.
final class GLUMBConv: Module, UnaryLayer {
    // Property names are diffusers' checkpoint keys (see docs/nn.md), hence snake_case.
    let conv_inverted: Conv2d
    let conv_depth: Conv2d
    let conv_point: Conv2d
    let norm: ChannelRMSNorm
    let hidden: Int

    init(_ channels: Int, expandRatio: Float = 4, maker: inout LayerMaker) {
        hidden = Int(expandRatio * Float(channels))
        conv_inverted = maker.dcConv(channels, hidden * 2, kernel: 1)
        conv_depth = maker.dcConv(hidden * 2, hidden * 2, kernel: 3, padding: 1, groups: hidden * 2)
        conv_point = maker.dcConv(hidden, channels, kernel: 1, bias: false)
        norm = ChannelRMSNorm(channels)
    }

    /// Zero placeholders, to be loaded.
    convenience init(_ channels: Int, expandRatio: Float = 4) {
        var maker = LayerMaker()
        self.init(channels, expandRatio: expandRatio, maker: &maker)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let h = conv_depth(conv_inverted(x).silu())
        let value = h.sliced(axis: 1, 0..<hidden), gate = h.sliced(axis: 1, hidden..<(2 * hidden))
        return norm(conv_point((value * gate.silu()).contiguous())) + x
    }
}
