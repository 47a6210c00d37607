import Foundation
import LatteKernels

/// Which keys each query may see.
public enum AttentionMask: Sendable, Equatable {
    /// Every query sees every key (bidirectional).
    case none
    /// Query i sees keys ≤ i + (keyLength − queryLength), so a KV cache of earlier keys works.
    case causal
    /// Prefix-LM: the first `n` keys are visible to every query; beyond them, causal.
    case prefixCausal(Int)

    /// Additive mask [Tq, Tk] (0 or −∞), nil when nothing is masked.
    func additive(queryLength tq: Int, keyLength tk: Int) -> Tensor? {
        if self == .none { return nil }
        let m = Tensor.empty([tq, tk])
        let shift = tk - tq
        for i in 0..<tq {
            for j in 0..<tk {
                let visible: Bool
                switch self {
                case .none: visible = true
                case .causal: visible = j <= i + shift
                case .prefixCausal(let p): visible = j < p || j <= i + shift
                }
                m.f32[i * tk + j] = visible ? 0 : -.infinity
            }
        }
        return m
    }
}

extension Tensor {
    /// softmax(Q·Kᵀ·scale + bias + mask)·V with grouped-query heads.
    ///
    /// q: [B, Hq, Tq, D]; k: [B, Hkv, Tk, D]; v: [B, Hkv, Tk, Dv]; Hq a multiple of Hkv (query head h
    /// uses KV head h / (Hq/Hkv)). `bias` broadcasts to [B, Hq, Tq, Tk]. With `returnScores`, also returns
    /// the pre-softmax scores Q·Kᵀ·scale + bias (before the mask) — the residual attention of docs/method.md §4
    /// feeds them to the next layer. Without bias, score return or a gradient to compute, a tiled
    /// kernel runs that never materialises the score matrix.
    public static func scaledDotProductAttention(
        query q: Tensor, key k: Tensor, value v: Tensor, mask: AttentionMask = .none,
        bias: Tensor? = nil, scale: Float? = nil, returnScores: Bool = false
    ) -> (output: Tensor, scores: Tensor?) {
        precondition(q.rank == 4 && k.rank == 4 && v.rank == 4, "attention expects rank-4 [B, H, T, D] tensors")
        let b = q.shape[0], hq = q.shape[1], tq = q.shape[2], d = q.shape[3]
        let hkv = k.shape[1], tk = k.shape[2], dv = v.shape[3]
        precondition(k.shape[0] == b && v.shape[0] == b && k.shape[3] == d && v.shape[1] == hkv && v.shape[2] == tk,
                     "attention shapes q \(q.shape), k \(k.shape), v \(v.shape) do not match")
        precondition(hq % hkv == 0, "query heads \(hq) not a multiple of KV heads \(hkv)")
        let groups = hq / hkv
        let scale = scale ?? 1 / Float(d).squareRoot()

        let recording = TapeState.recordingTape != nil && [q, k, v].contains { $0.gradSlot != nil }
        if bias == nil && !returnScores && !recording && dv == d,
           let out = flashAttention(q, k, v, mask: mask, scale: scale) {
            return (out, nil)
        }

        // Query heads sharing a KV head are stacked as extra rows, so one batched GEMM serves a group.
        let qg = q.reshaped([b, hkv, groups * tq, d])
        var scores = qg.matmul(k.transposed()).scaled(by: scale).reshaped([b, hq, tq, tk])
        if let bias { scores = scores + bias }
        var masked = scores
        if let m = mask.additive(queryLength: tq, keyLength: tk) { masked = masked + m }
        let p = masked.softmax(axis: -1)
        let out = p.reshaped([b, hkv, groups * tq, tk]).matmul(v).reshaped([b, hq, tq, dv])
        return (out, returnScores ? scores : nil)
    }

    /// The tiled kernel, reading q, k, v through their strides (no copy when the head dim is dense).
    private static func flashAttention(_ q: Tensor, _ k: Tensor, _ v: Tensor, mask: AttentionMask, scale: Float) -> Tensor? {
        func dense(_ t: Tensor) -> Tensor { t.dtype == .float32 && t.strides[3] == 1 ? t : t.toFloat32().contiguous() }
        let (qd, kd, vd) = (dense(q), dense(k), dense(v))
        func layout(_ t: Tensor) -> FlashAttention.Layout { .init(batch: t.strides[0], head: t.strides[1], position: t.strides[2]) }
        let kernelMask: FlashAttention.Mask
        switch mask {
        case .none: kernelMask = .none
        case .causal: kernelMask = .causal
        case .prefixCausal(let p): kernelMask = .causalPrefix(p)
        }
        let out = Tensor.empty([q.shape[0], q.shape[1], q.shape[2], v.shape[3]])
        let ok: Bool = withExtendedLifetime((qd, kd, vd)) {
            do {
                try FlashAttention.forward(
                    q: qd.f32, k: kd.f32, v: vd.f32, out: out.f32, batch: q.shape[0], queryHeads: q.shape[1],
                    kvHeads: k.shape[1], queryLength: q.shape[2], keyLength: k.shape[2], headDim: q.shape[3],
                    scale: scale, mask: kernelMask, qLayout: layout(qd), kLayout: layout(kd), vLayout: layout(vd))
                return true
            } catch {
                return false
            }
        }
        return ok ? out : nil
    }
}
