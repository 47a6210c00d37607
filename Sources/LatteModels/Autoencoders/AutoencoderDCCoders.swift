import LatteNN
import LatteTensor

/// One DC-AE block of a stage, as diffusers' `get_block` builds it (EfficientViTBlock ignores the
/// activation, as diffusers does).
private func makeDCBlock(_ type: String, channels: Int, headDim: Int, norm: DCNormType, activation: DCActivation,
                         qkvMultiscales: [Int], maker: inout LayerMaker) -> any UnaryLayer {
    if type == "EfficientViTBlock" {
        return EfficientViTBlock(channels: channels, headDim: headDim, qkvMultiscales: qkvMultiscales, norm: norm, maker: &maker)
    }
    return DCResBlock(channels, channels, norm: norm, activation: activation, maker: &maker)
}

/// diffusers' DC-AE `Encoder`: conv_in (a plain 3×3 conv, or a shortcut-free down block when stage 0
/// has no layers), one `nn.Sequential` per stage (its blocks, then a down block with the
/// space-to-channel shortcut except after the last stage), conv_out to the latent channels plus,
/// with `encoder_out_shortcut`, the input averaged over groups of channels.
public final class DCEncoder: Module {
    let conv_in: any UnaryLayer
    let down_blocks: [DCStage]
    let conv_out: Conv2d
    let outShortcutGroup: Int?

    init(_ c: AutoencoderDCConfiguration, maker: inout LayerMaker) {
        let ch = c.encoderBlockOutChannels, layers = c.encoderLayersPerBlock, n = ch.count
        let types = c.encoderBlockTypes.expanded(n)!
        let unshuffle = c.downsampleBlockType == "pixel_unshuffle"
        if layers[0] > 0 {
            conv_in = maker.dcConv(c.inChannels, ch[0], kernel: 3, padding: 1)
        } else {
            conv_in = DCDownBlock2d(c.inChannels, ch[1], pixelUnshuffle: unshuffle, shortcut: false, maker: &maker)
        }
        var stages: [DCStage] = []
        for i in 0..<n {
            var list: [any UnaryLayer] = []
            for _ in 0..<layers[i] {
                list.append(makeDCBlock(types[i], channels: ch[i], headDim: c.attentionHeadDim, norm: .rmsNorm, activation: .silu,
                                        qkvMultiscales: c.encoderQkvMultiscales[i], maker: &maker))
            }
            if i < n - 1 && layers[i] > 0 {
                list.append(DCDownBlock2d(ch[i], ch[i + 1], pixelUnshuffle: unshuffle, shortcut: true, maker: &maker))
            }
            stages.append(DCStage(list))
        }
        down_blocks = stages
        conv_out = maker.dcConv(ch[n - 1], c.latentChannels, kernel: 3, padding: 1)
        outShortcutGroup = c.encoderOutShortcut ? ch[n - 1] / c.latentChannels : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv_in(x)
        for stage in down_blocks { h = stage(h) }
        guard let g = outShortcutGroup else { return conv_out(h) }
        let (b, c, hh, ww) = (h.shape[0], h.shape[1], h.shape[2], h.shape[3])
        let averaged = g == 1 ? h : h.reshaped([b, c / g, g, hh, ww]).mean(axes: [2])
        return conv_out(h) + averaged
    }
}

/// diffusers' DC-AE `Decoder`: conv_in from the latent plus, with `decoder_in_shortcut`, the latent's
/// channels repeated; stages from deepest to shallowest (each an `nn.Sequential` of an up block with
/// the channel-to-space shortcut, except for the deepest stage, then its blocks with the stage's norm
/// and activation); RMSNorm (eps 1e-5, with bias) across channels, the `decoder_conv_act_fn`, and
/// conv_out (a shortcut-free up block when stage 0 has no layers).
public final class DCDecoder: Module {
    let conv_in: Conv2d
    let up_blocks: [DCStage]
    let norm_out: ChannelRMSNorm
    let conv_out: any UnaryLayer
    let inShortcutRepeats: Int?
    let convActivation: DCActivation

    init(_ c: AutoencoderDCConfiguration, maker: inout LayerMaker) {
        let ch = c.decoderBlockOutChannels, layers = c.decoderLayersPerBlock, n = ch.count
        let types = c.decoderBlockTypes.expanded(n)!
        let norms = c.decoderNormTypes.expanded(n)!.map { DCNormType(rawValue: $0)! }
        let acts = c.decoderActFns.expanded(n)!.map { DCActivation(rawValue: $0)! }
        let interpolate = c.upsampleBlockType == "interpolate"
        conv_in = maker.dcConv(c.latentChannels, ch[n - 1], kernel: 3, padding: 1)
        inShortcutRepeats = c.decoderInShortcut ? ch[n - 1] / c.latentChannels : nil
        // Built deepest first (so random weights are drawn in torch's construction order), stored by index.
        var stages = [DCStage?](repeating: nil, count: n)
        for i in stride(from: n - 1, through: 0, by: -1) {
            var list: [any UnaryLayer] = []
            if i < n - 1 && layers[i] > 0 {
                list.append(DCUpBlock2d(ch[i + 1], ch[i], interpolate: interpolate, shortcut: true, maker: &maker))
            }
            for _ in 0..<layers[i] {
                list.append(makeDCBlock(types[i], channels: ch[i], headDim: c.attentionHeadDim, norm: norms[i], activation: acts[i],
                                        qkvMultiscales: c.decoderQkvMultiscales[i], maker: &maker))
            }
            stages[i] = DCStage(list)
        }
        up_blocks = stages.map { $0! }
        let channels = layers[0] > 0 ? ch[0] : ch[1]
        norm_out = ChannelRMSNorm(channels)
        convActivation = DCActivation(rawValue: c.decoderConvActFn)!
        if layers[0] > 0 {
            conv_out = maker.dcConv(channels, c.inChannels, kernel: 3, padding: 1)
        } else {
            conv_out = DCUpBlock2d(channels, c.inChannels, interpolate: interpolate, shortcut: false, maker: &maker)
        }
    }

    public func callAsFunction(_ z: Tensor) -> Tensor {
        var h = conv_in(z)
        if let r = inShortcutRepeats { h = h + z.channelsRepeatedInterleaved(r) }
        for stage in up_blocks.reversed() { h = stage(h) }
        return conv_out(convActivation(norm_out(h)))
    }
}
