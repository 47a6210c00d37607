import LatteNN
import LatteTensor

/// Makes the layers of a model either randomly initialised (a seeded generator, as torch's defaults)
/// or as zero placeholders whose values come from a checkpoint, so one constructor serves both.
public struct LayerMaker {
    public var generator: RandomGenerator?

    /// Random layers from a seed.
    public init(seed: UInt64) { generator = RandomGenerator(seed: seed) }
    /// Placeholder layers, to be filled by `update(parameters:)`.
    public init() { generator = nil }

    public mutating func conv(_ i: Int, _ o: Int, kernel: Int, stride: Int = 1, padding: Int = 0) -> Conv2d {
        if generator != nil {
            return Conv2d(i, o, kernelSize: kernel, stride: stride, padding: padding, generator: &generator!)
        }
        return Conv2d(i, o, kernelSize: kernel, stride: stride, padding: padding)
    }

    public mutating func linear(_ i: Int, _ o: Int) -> Linear {
        if generator != nil { return Linear(i, o, generator: &generator!) }
        return Linear(i, o)
    }
}

/// diffusers' ResnetBlock2D without a time embedding: x + conv2(silu(norm2(conv1(silu(norm1(x)))))),
/// the skip through a 1×1 `conv_shortcut` when the channel count changes. Norms use eps 1e-6 (the VAE's).
public final class ResnetBlock2D: Module {
    public let norm1: GroupNorm
    public let conv1: Conv2d
    public let norm2: GroupNorm
    public let conv2: Conv2d
    public let conv_shortcut: Conv2d?

    public init(_ inChannels: Int, _ outChannels: Int, groups: Int, maker: inout LayerMaker) {
        norm1 = GroupNorm(groups: groups, channels: inChannels, eps: 1e-6)
        conv1 = maker.conv(inChannels, outChannels, kernel: 3, padding: 1)
        norm2 = GroupNorm(groups: groups, channels: outChannels, eps: 1e-6)
        conv2 = maker.conv(outChannels, outChannels, kernel: 3, padding: 1)
        conv_shortcut = inChannels != outChannels ? maker.conv(inChannels, outChannels, kernel: 1) : nil
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = conv1(norm1.silu(x))
        h = conv2(norm2.silu(h))
        return (conv_shortcut?(x) ?? x) + h
    }
}

/// diffusers' Attention as the VAE mid block uses it: one head over all H·W positions with head
/// dimension C, GroupNorm in front, the input added back (residual_connection, rescale 1).
public final class SpatialSelfAttention: Module {
    public let group_norm: GroupNorm
    public let to_q: Linear
    public let to_k: Linear
    public let to_v: Linear
    public let to_out: [Linear]   // to_out.0 (diffusers' to_out.1 is a parameter-free dropout)

    public init(channels: Int, groups: Int, maker: inout LayerMaker) {
        group_norm = GroupNorm(groups: groups, channels: channels, eps: 1e-6)
        to_q = maker.linear(channels, channels)
        to_k = maker.linear(channels, channels)
        to_v = maker.linear(channels, channels)
        to_out = [maker.linear(channels, channels)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        // [B, C, H, W] → [B, H·W, C]: positions become tokens.
        let tokens = group_norm(x).reshaped([b, c, h * w]).transposed(1, 2)
        func heads(_ t: Tensor) -> Tensor { t.reshaped([b, 1, h * w, c]) }
        let out = Tensor.scaledDotProductAttention(query: heads(to_q(tokens)), key: heads(to_k(tokens)),
                                                   value: heads(to_v(tokens))).output
        let projected = to_out[0](out.reshaped([b, h * w, c]))
        return projected.transposed(1, 2).reshaped([b, c, h, w]) + x
    }
}

/// UNetMidBlock2D without time embedding: resnet, optional attention, resnet.
public final class VAEMidBlock: Module {
    public let resnets: [ResnetBlock2D]
    public let attentions: [SpatialSelfAttention]

    public init(channels: Int, groups: Int, attention: Bool, maker: inout LayerMaker) {
        let first = ResnetBlock2D(channels, channels, groups: groups, maker: &maker)
        attentions = attention ? [SpatialSelfAttention(channels: channels, groups: groups, maker: &maker)] : []
        resnets = [first, ResnetBlock2D(channels, channels, groups: groups, maker: &maker)]
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = resnets[0](x)
        if let a = attentions.first { h = a(h) }
        return resnets[1](h)
    }
}

/// Downsample2D as the VAE builds it: a 3×3 stride-2 conv without padding after padding right and
/// bottom by one, so even sizes halve exactly.
public final class Downsample2D: Module {
    public let conv: Conv2d

    public init(channels: Int, maker: inout LayerMaker) {
        conv = maker.conv(channels, channels, kernel: 3, stride: 2)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        conv(x.padded(axis: 3, before: 0, after: 1).padded(axis: 2, before: 0, after: 1))
    }
}

/// Upsample2D: nearest ×2, then a 3×3 conv.
public final class Upsample2D: Module {
    public let conv: Conv2d

    public init(channels: Int, maker: inout LayerMaker) {
        conv = maker.conv(channels, channels, kernel: 3, padding: 1)
    }

    public func callAsFunction(_ x: Tensor) -> Tensor { conv(x.upsampledNearest(scale: 2)) }
}

/// DownEncoderBlock2D: resnets, then a downsampler except in the last block.
public final class DownEncoderBlock2D: Module {
    public let resnets: [ResnetBlock2D]
    public let downsamplers: [Downsample2D]

    public init(_ inChannels: Int, _ outChannels: Int, layers: Int, groups: Int, downsample: Bool, maker: inout LayerMaker) {
        var r: [ResnetBlock2D] = []
        for j in 0..<layers { r.append(ResnetBlock2D(j == 0 ? inChannels : outChannels, outChannels, groups: groups, maker: &maker)) }
        resnets = r
        downsamplers = downsample ? [Downsample2D(channels: outChannels, maker: &maker)] : []
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for r in resnets { h = r(h) }
        for d in downsamplers { h = d(h) }
        return h
    }
}

/// UpDecoderBlock2D: resnets, then an upsampler except in the last block.
public final class UpDecoderBlock2D: Module {
    public let resnets: [ResnetBlock2D]
    public let upsamplers: [Upsample2D]

    public init(_ inChannels: Int, _ outChannels: Int, layers: Int, groups: Int, upsample: Bool, maker: inout LayerMaker) {
        var r: [ResnetBlock2D] = []
        for j in 0..<layers { r.append(ResnetBlock2D(j == 0 ? inChannels : outChannels, outChannels, groups: groups, maker: &maker)) }
        resnets = r
        upsamplers = upsample ? [Upsample2D(channels: outChannels, maker: &maker)] : []
    }

    public func callAsFunction(_ x: Tensor) -> Tensor {
        var h = x
        for r in resnets { h = r(h) }
        for u in upsamplers { h = u(h) }
        return h
    }
}
