import LatteNN
import LatteTensor

/// diffusers' `DCDownBlock2d` (factor 2): a 3×3 conv that either runs at stride 1 to out/4 channels
/// followed by pixel-unshuffle ("pixel_unshuffle") or at stride 2 to out channels ("conv"), plus,
/// when `shortcut`, the space-to-channel shortcut (unshuffle, then average channel groups).
final class DCDownBlock2d: Module, UnaryLayer {
    let conv: Conv2d
    let pixelUnshuffle: Bool
    let shortcut: Bool
    let outChannels: Int

    init(_ inChannels: Int, _ outChannels: Int, pixelUnshuffle: Bool, shortcut: Bool, maker: inout LayerMaker) {
        self.pixelUnshuffle = pixelUnshuffle
        self.shortcut = shortcut
        self.outChannels = outChannels
        conv = maker.dcConv(inChannels, pixelUnshuffle ? outChannels / 4 : outChannels, kernel: 3,
                            stride: pixelUnshuffle ? 1 : 2, padding: 1)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        var y = conv(x)
        if pixelUnshuffle { y = y.pixelUnshuffled(2).contiguous() }
        return shortcut ? y + x.spaceToChannelShortcut(factor: 2, outChannels: outChannels) : y
    }
}

/// diffusers' `DCUpBlock2d` (factor 2): nearest ×2 then a 3×3 conv ("interpolate"), or a 3×3 conv to
/// 4·out channels then pixel-shuffle ("pixel_shuffle"), plus, when `shortcut`, the channel-to-space
/// shortcut (repeat channels, then shuffle).
final class DCUpBlock2d: Module, UnaryLayer {
    let conv: Conv2d
    let interpolate: Bool
    let shortcut: Bool
    let outChannels: Int

    init(_ inChannels: Int, _ outChannels: Int, interpolate: Bool, shortcut: Bool, maker: inout LayerMaker) {
        self.interpolate = interpolate
        self.shortcut = shortcut
        self.outChannels = outChannels
        conv = maker.dcConv(inChannels, interpolate ? outChannels : outChannels * 4, kernel: 3, padding: 1)
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let y = interpolate ? conv(x.upsampledNearest(scale: 2)) : conv(x).pixelShuffled(2).contiguous()
        return shortcut ? y + x.channelToSpaceShortcut(factor: 2, outChannels: outChannels) : y
    }
}

/// A torch `nn.Sequential` stage: its layers are keyed by bare indices (`down_blocks.1.0.conv1.weight`),
/// unlike LatteNN's `Sequential` (`layers.0.…`), so the children are listed by hand.
final class DCStage: Module, UnaryLayer {
    let _layers: [any UnaryLayer]

    init(_ layers: [any UnaryLayer]) { _layers = layers }

    override func children() -> [(key: String, child: Child)] {
        _layers.enumerated().map { ("\($0.offset)", .module($0.element)) }
    }

    func callAsFunction(_ x: Tensor) -> Tensor { _layers.reduce(x) { $1($0) } }
}
