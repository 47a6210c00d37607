import LatteNN
import LatteTensor

/// One multiscale branch of Sana's attention (diffusers' `SanaMultiscaleAttentionProjection`): a
/// depthwise k×k conv over the concatenated q, k, v, then a 1×1 conv grouped per head and role
/// (3·heads groups), both without bias.
final class SanaMultiscaleAttentionProjection: Module, UnaryLayer {
    let proj_in: Conv2d
    let proj_out: Conv2d

    init(channels inner: Int, heads: Int, kernelSize k: Int, maker: inout LayerMaker) {
        let c = 3 * inner
        proj_in = maker.dcConv(c, c, kernel: k, padding: k / 2, groups: c, bias: false)
        proj_out = maker.dcConv(c, c, kernel: 1, groups: 3 * heads, bias: false)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { proj_out(proj_in(x)) }
}

/// diffusers' `SanaMultiscaleLinearAttention` with its processor, as DC-AE's EfficientViTBlock uses
/// it (residual on, mult 1):
///
/// - q, k, v = bias-free linear maps of each pixel's channels, concatenated to 3·inner channels;
///   each kernel size adds a multiscale branch of the same width, all concatenated.
/// - The result is cut into groups of 3·head_dim channels, each cut into thirds as (q, k, v); q and k
///   go through ReLU (the kernel feature map). Note the cut follows the concatenated layout, not the
///   to_q/to_k/to_v split: this is how diffusers' converted checkpoints line up with EfficientViT's
///   fused qkv conv, so it must be reproduced as is.
/// - With more pixels than head_dim, linear attention: V padded with a row of ones, (V·Kᵀ)·Q, the
///   first head_dim rows divided by the last (+1e-15). Otherwise the quadratic form
///   V·(KᵀQ / (column sums + 1e-15)). Both run in float32 (our only compute type).
/// - to_out (bias-free linear), then norm_out (rms_norm or batch_norm, eps 1e-5), + input.
final class SanaMultiscaleLinearAttention: Module, UnaryLayer {
    let to_q: Linear
    let to_k: Linear
    let to_v: Linear
    let to_qkv_multiscale: [SanaMultiscaleAttentionProjection]
    let to_out: Linear
    let norm_out: any UnaryLayer
    let heads: Int
    let headDim: Int
    let eps: Float = 1e-15

    init(channels: Int, headDim: Int, kernelSizes: [Int], norm: DCNormType, maker: inout LayerMaker) {
        heads = channels / headDim
        self.headDim = headDim
        let inner = heads * headDim
        to_q = maker.dcLinear(channels, inner)
        to_k = maker.dcLinear(channels, inner)
        to_v = maker.dcLinear(channels, inner)
        var branches: [SanaMultiscaleAttentionProjection] = []
        for k in kernelSizes { branches.append(SanaMultiscaleAttentionProjection(channels: inner, heads: heads, kernelSize: k, maker: &maker)) }
        to_qkv_multiscale = branches
        to_out = maker.dcLinear(inner * (1 + kernelSizes.count), channels)
        norm_out = norm.make(channels)
    }

    /// A bias-free linear map over channels as a 1×1 conv on NCHW (no layout change needed).
    private func pointwise(_ x: Tensor, _ weights: [Linear]) -> Tensor {
        let w = weights.count == 1 ? weights[0].weight.tensor : Tensor.concat(weights.map { $0.weight.tensor }, axis: 0)
        return Tensor.conv2d(x, weight: w.reshaped([w.shape[0], w.shape[1], 1, 1]))
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let (b, h, w) = (x.shape[0], x.shape[2], x.shape[3])
        let n = h * w, d = headDim
        let qkv = pointwise(x, [to_q, to_k, to_v])
        let scales = [qkv] + to_qkv_multiscale.map { $0(qkv) }
        let all = scales.count == 1 ? qkv : Tensor.concat(scales, axis: 1)
        let groups = all.shape[1] / (3 * d)
        let grouped = all.reshaped([b, groups, 3 * d, n])
        let q = grouped.sliced(axis: 2, 0..<d).relu()
        let k = grouped.sliced(axis: 2, d..<(2 * d)).relu()
        let v = grouped.sliced(axis: 2, (2 * d)..<(3 * d))
        let attended: Tensor
        if n > d {
            let padded = Tensor.concat([v, Tensor.ones([b, groups, 1, n])], axis: 2)   // [b, g, d+1, n]
            let out = padded.matmul(k.transposed(-1, -2)).matmul(q)                        // [b, g, d+1, n]
            attended = out.sliced(axis: 2, 0..<d) / (out.sliced(axis: 2, d..<(d + 1)) + eps)
        } else {
            let scores = k.transposed(-1, -2).matmul(q)                                    // [b, g, n, n]
            attended = v.matmul(scores / (scores.sum(axes: [2], keepDims: true) + eps))
        }
        let merged = attended.contiguous().reshaped([b, groups * d, h, w])
        return norm_out(pointwise(merged, [to_out])) + x
    }
}

/// DC-AE's `EfficientViTBlock`: multiscale linear attention (context mixing), then GLUMBConv (local
/// mixing), each with its own residual.
final class EfficientViTBlock: Module, UnaryLayer {
    let attn: SanaMultiscaleLinearAttention
    let conv_out: GLUMBConv

    init(channels: Int, headDim: Int, qkvMultiscales: [Int], norm: DCNormType, maker: inout LayerMaker) {
        attn = SanaMultiscaleLinearAttention(channels: channels, headDim: headDim, kernelSizes: qkvMultiscales, norm: norm, maker: &maker)
        conv_out = GLUMBConv(channels, maker: &maker)
    }

    func callAsFunction(_ x: Tensor) -> Tensor { conv_out(attn(x)) }
}
