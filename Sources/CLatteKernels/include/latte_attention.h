#ifndef LATTE_ATTENTION_H
#define LATTE_ATTENTION_H

// Flash-attention micro-kernels (variant chosen with the vector-math kernels, see
// latte_vecmath.h). A query block holds LATTE_ATTN_QBLK queries in SIMD lanes.
// The tiling, masking and threading live in FlashAttention.swift.

#define LATTE_ATTN_QBLK 32

/// qt[c·32 + i] = scale · q[i·qstride + c] for i < nq, 0 for nq ≤ i < 32 (c < d).
void latte_attn_pack_qt(const float *q, long qstride, long nq, long d, float scale, float *qt);
/// st[j·32 + i] = s for key k0 + j ≥ limit[i] (those keys are masked out), for j < nk, i < 32.
void latte_attn_mask(float *st, long nk, long k0, const long *limit);
/// st[j·32 + i] = Σ_c k[j·kstride + c] · qt[c·32 + i] for j < nk.
void latte_attn_qk(const float *qt, const float *k, long kstride, long nk, long d, float *st);
/// Online-softmax step over st (nk × 32): updates m, l (32 each), overwrites st with
/// probabilities and writes the factor corr by which earlier output rows must be rescaled.
void latte_attn_softmax_update(float *st, long nk, float *m, float *l, float *corr);
/// o[i·d + c] = corr[i]·o[i·d + c] + Σ_j pt[j·32 + i] · v[j·vstride + c] for i < nq.
void latte_attn_pv(const float *pt, long nk, long nq, const float *v, long vstride, long d, float *o,
                   const float *corr);
/// s[j] = q · k[j·kstride …] for j < nk.
void latte_attn_dots(const float *q, const float *k, long kstride, long nk, long d, float *s);
/// o = Σ_j p[j] · v[j·vstride …] (o overwritten).
void latte_attn_pv_row(const float *p, long nk, const float *v, long vstride, long d, float *o);

#endif
