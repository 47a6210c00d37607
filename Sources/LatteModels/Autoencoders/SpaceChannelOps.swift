import LatteTensor

/// Layout changes DC-AE (diffusers' `AutoencoderDC`) needs, written as views plus one dense copy so
/// autograd routes gradients through them for free. All tensors are NCHW.
extension Tensor {
    /// torch's `pixel_unshuffle`: (N, C, H·r, W·r) → (N, C·r², H, W); output channel c·r² + i·r + j
    /// holds input pixel (h·r + i, w·r + j) of channel c.
    func pixelUnshuffled(_ r: Int) -> Tensor {
        precondition(rank == 4 && shape[2] % r == 0 && shape[3] % r == 0,
                     "pixelUnshuffled(\(r)) needs NCHW with H and W divisible by \(r), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2] / r, shape[3] / r)
        return reshaped([n, c, h, r, w, r]).permuted([0, 1, 3, 5, 2, 4]).reshaped([n, c * r * r, h, w])
    }

    /// torch's `pixel_shuffle`, the inverse of `pixelUnshuffled`: (N, C·r², H, W) → (N, C, H·r, W·r).
    func pixelShuffled(_ r: Int) -> Tensor {
        precondition(rank == 4 && shape[1] % (r * r) == 0,
                     "pixelShuffled(\(r)) needs NCHW with C divisible by \(r * r), got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1] / (r * r), shape[2], shape[3])
        return reshaped([n, c, r, r, h, w]).permuted([0, 1, 4, 2, 5, 3]).reshaped([n, c, h * r, w * r])
    }

    /// torch's `repeat_interleave(k, dim: 1)`: each channel repeated k times in place.
    func channelsRepeatedInterleaved(_ k: Int) -> Tensor {
        precondition(rank == 4, "channelsRepeatedInterleaved needs NCHW, got \(shape)")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        return reshaped([n, c, 1, h, w]).expanded([n, c, k, h, w]).reshaped([n, c * k, h, w])
    }

    /// DC-AE's down-block shortcut: pixel-unshuffle by `r`, then average consecutive groups of
    /// channels down to `outChannels` (diffusers: `unflatten(1, (-1, group)).mean(2)`).
    func spaceToChannelShortcut(factor r: Int, outChannels: Int) -> Tensor {
        let y = pixelUnshuffled(r)
        let total = y.shape[1]
        precondition(total % outChannels == 0,
                     "space-to-channel shortcut: \(total) channels do not split into \(outChannels) groups")
        let group = total / outChannels
        if group == 1 { return y }
        return y.reshaped([y.shape[0], outChannels, group, y.shape[2], y.shape[3]]).mean(axes: [2])
    }

    /// DC-AE's up-block shortcut: duplicate each channel so that a pixel shuffle by `r` yields
    /// `outChannels` (diffusers: `repeat_interleave(out·r²/in, 1)` then `pixel_shuffle`).
    func channelToSpaceShortcut(factor r: Int, outChannels: Int) -> Tensor {
        let c = shape[1]
        precondition((outChannels * r * r) % c == 0,
                     "channel-to-space shortcut: \(outChannels)·\(r)² channels are not a multiple of \(c)")
        return channelsRepeatedInterleaved(outChannels * r * r / c).pixelShuffled(r)
    }

    /// RMS normalisation across channels of an NCHW tensor (DC-AE's `RMSNorm2d`: diffusers moves
    /// channels last, normalises, and moves them back), with optional per-channel affine bias.
    func channelRMSNormed(weight: Tensor?, bias: Tensor?, eps: Float) -> Tensor {
        precondition(rank == 4, "channelRMSNormed needs NCHW, got \(shape)")
        var y = Tensor.rmsNorm(permuted([0, 2, 3, 1]), weight: weight, eps: eps)
        if let bias { y = y + bias }
        return y.permuted([0, 3, 1, 2]).contiguous()
    }
}
