import Foundation
import LatteNN
import LatteTensor

// MARK: - Vision

/// The vision MLP's activation (`vision_config.hidden_act`).
enum Qwen2VLActivation {
    case quickGELU, gelu, geluTanh, silu

    init?(name: String) {
        switch name {
        case "quick_gelu": self = .quickGELU
        case "gelu": self = .gelu
        case "gelu_pytorch_tanh", "gelu_new", "gelu_fast": self = .geluTanh
        case "silu", "swish": self = .silu
        default: return nil
        }
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        switch self {
        case .quickGELU: return x * (x * 1.702).sigmoid()   // CLIP's x·σ(1.702x)
        case .gelu: return x.gelu()
        case .geluTanh: return x.gelu(approximation: .tanh)
        case .silu: return x.silu()
        }
    }
}

/// Conv3d with kernel = stride = (T, P, P) over patches already cut out by the processor, which is a
/// matrix product with the kernel flattened in the same (channel, t, y, x) order.
public final class Qwen2VLPatchEmbed: Module {
    public let proj: Qwen2VLConv3dWeight

    init(_ c: Qwen2VLVisionConfiguration) { proj = Qwen2VLConv3dWeight(c) }

    func callAsFunction(_ pixels: Tensor) -> Tensor {
        BFloat16Projection.apply(pixels, weight: proj.weight.tensor.reshaped([proj.weight.shape[0], -1]), bias: nil)
    }
}

/// Holds the Conv3d kernel [embed, C, T, P, P] under the checkpoint's `proj.weight` (no bias).
public final class Qwen2VLConv3dWeight: Module {
    public let weight: Parameter
    init(_ c: Qwen2VLVisionConfiguration) {
        // A zero-stride placeholder (one element of memory) until the checkpoint's kernel arrives.
        weight = Parameter(Tensor.zeros([1, 1, 1, 1, 1]).expanded([c.embedDim, c.inChannels, c.temporalPatchSize, c.patchSize, c.patchSize]))
    }
}

/// Bidirectional self-attention with a fused qkv projection (with bias), within each image only.
public final class Qwen2VLVisionAttention: Module {
    public let qkv: Linear
    public let proj: Linear
    let heads: Int, headDim: Int

    init(_ c: Qwen2VLVisionConfiguration) {
        qkv = Linear(c.embedDim, 3 * c.embedDim, bias: true)
        proj = Linear(c.embedDim, c.embedDim, bias: true)
        (heads, headDim) = (c.headCount, c.headDim)
    }

    /// x [N, embed] (all images' patches); `segments` are each image's (frame's) patch ranges.
    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), segments: [Range<Int>]) -> Tensor {
        let n = x.shape[0]
        // [N, 3, H, D] → three [1, H, N, D].
        let parts = qkv(x).reshaped([n, 3, heads, headDim]).permuted([1, 2, 0, 3])
        let q = parts.sliced(axis: 0, 0..<1).applyingRotary(cos: rotary.cos, sin: rotary.sin)
        let k = parts.sliced(axis: 0, 1..<2).applyingRotary(cos: rotary.cos, sin: rotary.sin)
        let v = parts.sliced(axis: 0, 2..<3)
        var outputs: [Tensor] = []
        for s in segments {
            outputs.append(Tensor.scaledDotProductAttention(
                query: q.sliced(axis: 2, s), key: k.sliced(axis: 2, s), value: v.sliced(axis: 2, s), mask: .none).output)
        }
        let o = outputs.count == 1 ? outputs[0] : Tensor.concat(outputs, axis: 2)
        return proj(o.squeezed(0).permuted([1, 0, 2]).reshaped([n, heads * headDim]))
    }
}

public final class Qwen2VLVisionMLP: Module {
    public let fc1: Linear
    public let fc2: Linear
    let activation: Qwen2VLActivation

    init(_ c: Qwen2VLVisionConfiguration) {
        fc1 = Linear(c.embedDim, c.mlpHiddenSize, bias: true)
        fc2 = Linear(c.mlpHiddenSize, c.embedDim, bias: true)
        activation = Qwen2VLActivation(name: c.hiddenAct) ?? .quickGELU
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        fc2(activation(fc1(x)))
    }
}

public final class Qwen2VLVisionBlock: Module {
    public let norm1: LayerNorm
    public let norm2: LayerNorm
    public let attn: Qwen2VLVisionAttention
    public let mlp: Qwen2VLVisionMLP

    init(_ c: Qwen2VLVisionConfiguration) {
        norm1 = LayerNorm(c.embedDim, eps: 1e-6)
        norm2 = LayerNorm(c.embedDim, eps: 1e-6)
        attn = Qwen2VLVisionAttention(c)
        mlp = Qwen2VLVisionMLP(c)
    }

    func callAsFunction(_ x: Tensor, rotary: (cos: Tensor, sin: Tensor), segments: [Range<Int>]) -> Tensor {
        let h = x + attn(norm1(x), rotary: rotary, segments: segments)
        return h + mlp(norm2(h))
    }
}

/// LayerNorm, then merge×merge neighbouring patches (consecutive rows, thanks to the processor's
/// block order) concatenated and projected by a 2-layer MLP (exact GELU) into the language model's width.
public final class Qwen2VLPatchMerger: Module {
    public let ln_q: LayerNorm
    /// The checkpoint's `nn.Sequential` keys: `mlp.0` (Linear), `mlp.1` (GELU, no weights), `mlp.2` (Linear).
    public let mlp: [String: Module]
    let mergedWidth: Int

    init(_ c: Qwen2VLVisionConfiguration) {
        mergedWidth = c.embedDim * c.spatialMergeSize * c.spatialMergeSize
        ln_q = LayerNorm(c.embedDim, eps: 1e-6)
        mlp = ["0": Linear(mergedWidth, mergedWidth, bias: true), "2": Linear(mergedWidth, c.hiddenSize, bias: true)]
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let first = mlp["0"] as! Linear, second = mlp["2"] as! Linear
        let merged = ln_q(x).reshaped([x.shape[0] * x.shape[1] / mergedWidth, mergedWidth])
        return second(first(merged).gelu())
    }
}

/// transformers' `Qwen2VisionTransformerPretrainedModel` under the checkpoint prefix `visual.`.
public final class Qwen2VLVisionTower: Module {
    public let patch_embed: Qwen2VLPatchEmbed
    public let blocks: [Qwen2VLVisionBlock]
    public let merger: Qwen2VLPatchMerger
    public let configuration: Qwen2VLVisionConfiguration

    public init(configuration c: Qwen2VLVisionConfiguration) {
        configuration = c
        patch_embed = Qwen2VLPatchEmbed(c)
        blocks = (0..<c.depth).map { _ in Qwen2VLVisionBlock(c) }
        merger = Qwen2VLPatchMerger(c)
    }

    /// Merged image features [Σ patches / merge², LM hidden] for processed images.
    public func callAsFunction(_ input: Qwen2VLVisionInput) throws -> Tensor {
        let c = configuration, m = c.spatialMergeSize
        let total = input.grids.reduce(0) { $0 + $1.patchCount }
        guard input.pixelValues.rank == 2, input.pixelValues.shape == [total, c.patchValues] else {
            throw LLaMAError(file: "vision input", "pixel values \(input.pixelValues.shape) do not match grids \(input.grids) (expected [\(total), \(c.patchValues)])")
        }
        for g in input.grids where g.t <= 0 || g.h <= 0 || g.w <= 0 || g.h % m != 0 || g.w % m != 0 {
            throw LLaMAError(file: "vision input", "grid \(g) is not a positive multiple of the merge size \(m)")
        }
        // Attention runs within each frame of each image (transformers' cu_seqlens).
        var segments: [Range<Int>] = []
        var start = 0
        for g in input.grids {
            for _ in 0..<g.t { segments.append(start..<(start + g.h * g.w)); start += g.h * g.w }
        }
        let rotary = Self.rotaryTables(grids: input.grids, mergeSize: m, headDim: c.headDim, theta: c.ropeTheta)
        var h = patch_embed(input.pixelValues)
        for block in blocks { h = block(h, rotary: rotary, segments: segments) }
        return merger(h)
    }

    /// The 2-D rotary tables [N, D]: frequencies θ^(−2i/(D/2)) for i < D/4, the first D/4 turned by the
    /// patch's row and the next D/4 by its column, the whole repeated for the second half of the head
    /// (transformers' `Qwen2VLVisionRotaryEmbedding` with positions in merge-block order).
    static func rotaryTables(grids: [Qwen2VLImageGrid], mergeSize m: Int, headDim: Int, theta: Float) -> (cos: Tensor, sin: Tensor) {
        let quarter = headDim / 4, half = headDim / 2
        let inv = (0..<quarter).map { i in 1 / Foundation.pow(theta, Float(2 * i) / Float(half)) }
        var rows: [Int] = [], cols: [Int] = []
        for g in grids {
            var r: [Int] = [], c: [Int] = []
            for bh in 0..<(g.h / m) { for bw in 0..<(g.w / m) { for mh in 0..<m { for mw in 0..<m {
                r.append(bh * m + mh); c.append(bw * m + mw)
            } } } }
            for _ in 0..<g.t { rows += r; cols += c }
        }
        let n = rows.count
        let cosT = Tensor.empty([n, headDim]), sinT = Tensor.empty([n, headDim])
        for t in 0..<n {
            for f in 0..<half {
                // Float32 products, as torch multiplies float positions by float frequencies.
                let angle = Float(f < quarter ? rows[t] : cols[t]) * inv[f % quarter]
                let cv = Foundation.cos(angle), sv = Foundation.sin(angle)
                cosT.f32[t * headDim + f] = cv; cosT.f32[t * headDim + f + half] = cv
                sinT.f32[t * headDim + f] = sv; sinT.f32[t * headDim + f + half] = sv
            }
        }
        return (cosT, sinT)
    }
}
