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
    /// the pre-softmax scores Q·Kᵀ·scale + bias (before the mask) — the residual attention of METHOD.md §4
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
}
