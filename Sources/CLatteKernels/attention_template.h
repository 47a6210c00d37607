// Flash-attention micro-kernels written once over the lane primitives of vecmath_simd_*.h and
// compiled per variant (attention_avx512.c, attention_avx2.c, attention_generic.c). The Swift
// driver (FlashAttention.swift) owns tiling, masking and threading; these only do arithmetic.
//
// Layout of a query block: QBLK = 32 queries side by side in the lanes. Q is packed transposed
// (qt[c][q], c < d), so a score tile is built by broadcasting one key element against the lanes
// of 32 queries: no horizontal sums, and K is read in place with any row stride. Scores are kept
// transposed (st[j][q], j < nk keys), so the running max, the exponentials and the row sums of
// the online softmax are vertical lane operations too.
#include "vecmath_lanes.h"
#include "vecmath_table.h"

#define AT(name) VM_CAT(latte_attn_##name, VM_SUFFIX)
#define QBLK 32
#define NQV (QBLK / VW)

// Register tiles, sized to the register file: keys × query vectors for QKᵀ, query rows × head
// dim vectors for PV (AVX-512: 8×2 and 4×4 of 32 zmm; AVX2: 3×4 and 6×2 of 16 ymm).
#if VW == 16
#define KR 8
#define PV_QR 4
#define PV_DC 4
#elif VW == 8
#define KR 3
#define PV_QR 6
#define PV_DC 2
#else
#define KR 1
#define PV_QR 1
#define PV_DC 16
#endif
#define AT_INLINE static inline __attribute__((always_inline))

// st[j][·] = Σ_c k[j][c] · qt[c][·] for the R keys j0..j0+R−1.
AT_INLINE void at_qk_tile(const float *qt, const float *k, long kstride, long d, float *st, const int R) {
    V acc[KR][NQV];
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < NQV; ++v) acc[r][v] = vzero();
    for (long c = 0; c < d; ++c) {
        const float *qc = qt + c * QBLK;
        V qv[NQV];
        for (int v = 0; v < NQV; ++v) qv[v] = vload(qc + v * VW);
        for (int r = 0; r < R; ++r) {
            V kb = vset1(k[r * kstride + c]);
            for (int v = 0; v < NQV; ++v) acc[r][v] = vfma(kb, qv[v], acc[r][v]);
        }
    }
    for (int r = 0; r < R; ++r)
        for (int v = 0; v < NQV; ++v) vstore(st + r * QBLK + v * VW, acc[r][v]);
}

void AT(qk)(LATTE_ATTN_QK_ARGS) {
    long j = 0;
    for (; j + KR <= nk; j += KR) at_qk_tile(qt, k + j * kstride, kstride, d, st + j * QBLK, KR);
    // Remainder keys as one tile with a compile-time height, so it stays in registers too.
    const float *kj = k + j * kstride;
    float *sj = st + j * QBLK;
    switch (nk - j) {
#if KR > 7
    case 7: at_qk_tile(qt, kj, kstride, d, sj, 7); break;
    case 6: at_qk_tile(qt, kj, kstride, d, sj, 6); break;
    case 5: at_qk_tile(qt, kj, kstride, d, sj, 5); break;
    case 4: at_qk_tile(qt, kj, kstride, d, sj, 4); break;
#endif
#if KR > 3
    case 3: at_qk_tile(qt, kj, kstride, d, sj, 3); break;
#endif
#if KR > 2
    case 2: at_qk_tile(qt, kj, kstride, d, sj, 2); break;
#endif
#if KR > 1
    case 1: at_qk_tile(qt, kj, kstride, d, sj, 1); break;
#endif
    default: break;
    }
}

// One online-softmax step over a block of nk keys (FlashAttention-2, Dao 2023):
// m' = max(m, max_j s_j), p_j = e^{s_j − m'} (written over st), corr = e^{m − m'},
// l' = l·corr + Σ p_j. A query that has seen only −inf keys keeps m = −inf and p = 0.
void AT(softmax_update)(LATTE_ATTN_SOFTMAX_UPDATE_ARGS) {
    for (int v = 0; v < NQV; ++v) {
        float *sv = st + v * VW;
        V mold = vload(m + v * VW);
        V bm = vset1(-INFINITY);
        for (long j = 0; j < nk; ++j) bm = vmax(bm, vload(sv + j * QBLK));
        V mnew = vmax(mold, bm);
        V msafe = vsel(veq(mnew, vset1(-INFINITY)), vzero(), mnew);  // avoids −inf − (−inf)
        V c = v_exp(vsub(mold, msafe));
        V sum = vzero();
        for (long j = 0; j < nk; ++j) {
            V p = v_exp(vsub(vload(sv + j * QBLK), msafe));
            vstore(sv + j * QBLK, p);
            sum = vadd(sum, p);
        }
        vstore(m + v * VW, mnew);
        vstore(l + v * VW, vfma(vload(l + v * VW), c, sum));
        vstore(corr + v * VW, c);
    }
}

// o[q][·] = o[q][·]·corr[q] + Σ_j pt[j][q] · v[j][·] for R query rows from q0.
AT_INLINE void at_pv_rows(const float *pt, long nk, long q0, const float *v, long vstride, long d, float *o,
                          const float *corr, const int R) {
    long c = 0;
    for (; c + PV_DC * VW <= d; c += PV_DC * VW) {
        V acc[PV_QR][PV_DC];
        for (int r = 0; r < R; ++r) {
            V cr = vset1(corr[q0 + r]);
            for (int i = 0; i < PV_DC; ++i) acc[r][i] = vmul(vload(o + (q0 + r) * d + c + i * VW), cr);
        }
        for (long j = 0; j < nk; ++j) {
            const float *vj = v + j * vstride + c;
            const float *pj = pt + j * QBLK + q0;
            V vv[PV_DC];
            for (int i = 0; i < PV_DC; ++i) vv[i] = vload(vj + i * VW);
            for (int r = 0; r < R; ++r) {
                V pb = vset1(pj[r]);
                for (int i = 0; i < PV_DC; ++i) acc[r][i] = vfma(pb, vv[i], acc[r][i]);
            }
        }
        for (int r = 0; r < R; ++r)
            for (int i = 0; i < PV_DC; ++i) vstore(o + (q0 + r) * d + c + i * VW, acc[r][i]);
    }
    for (; c < d; c += VW) {  // head-dim remainder, one vector (possibly partial) at a time
        long w = d - c < VW ? d - c : VW;
        V acc[PV_QR];
        for (int r = 0; r < R; ++r) {
            float *orow = o + (q0 + r) * d + c;
            acc[r] = vmul(w == VW ? vload(orow) : vload_part(orow, w, 0.0f), vset1(corr[q0 + r]));
        }
        for (long j = 0; j < nk; ++j) {
            const float *vj = v + j * vstride + c;
            V vv = w == VW ? vload(vj) : vload_part(vj, w, 0.0f);
            for (int r = 0; r < R; ++r) acc[r] = vfma(vset1(pt[j * QBLK + q0 + r]), vv, acc[r]);
        }
        for (int r = 0; r < R; ++r) {
            float *orow = o + (q0 + r) * d + c;
            if (w == VW) vstore(orow, acc[r]); else vstore_part(orow, acc[r], w);
        }
    }
}

void AT(pv)(LATTE_ATTN_PV_ARGS) {
    long q = 0;
    for (; q + PV_QR <= nq; q += PV_QR) at_pv_rows(pt, nk, q, v, vstride, d, o, corr, PV_QR);
    for (; q < nq; ++q) at_pv_rows(pt, nk, q, v, vstride, d, o, corr, 1);
}

// MARK: - Single-query (decode) kernels

// s[j] = q · k[j] for nk keys; four keys at a time for independent accumulators.
void AT(dots)(LATTE_ATTN_DOTS_ARGS) {
    long j = 0;
    for (; j + 4 <= nk; j += 4) {
        const float *k0 = k + j * kstride, *k1 = k0 + kstride, *k2 = k1 + kstride, *k3 = k2 + kstride;
        V a0 = vzero(), a1 = vzero(), a2 = vzero(), a3 = vzero();
        long c = 0;
        for (; c + VW <= d; c += VW) {
            V qv = vload(q + c);
            a0 = vfma(qv, vload(k0 + c), a0);
            a1 = vfma(qv, vload(k1 + c), a1);
            a2 = vfma(qv, vload(k2 + c), a2);
            a3 = vfma(qv, vload(k3 + c), a3);
        }
        if (c < d) {
            long w = d - c;
            V qv = vload_part(q + c, w, 0.0f);
            a0 = vfma(qv, vload_part(k0 + c, w, 0.0f), a0);
            a1 = vfma(qv, vload_part(k1 + c, w, 0.0f), a1);
            a2 = vfma(qv, vload_part(k2 + c, w, 0.0f), a2);
            a3 = vfma(qv, vload_part(k3 + c, w, 0.0f), a3);
        }
        s[j] = vhsum(a0);
        s[j + 1] = vhsum(a1);
        s[j + 2] = vhsum(a2);
        s[j + 3] = vhsum(a3);
    }
    for (; j < nk; ++j) {
        const float *kj = k + j * kstride;
        V a = vzero();
        long c = 0;
        for (; c + VW <= d; c += VW) a = vfma(vload(q + c), vload(kj + c), a);
        if (c < d) a = vfma(vload_part(q + c, d - c, 0.0f), vload_part(kj + c, d - c, 0.0f), a);
        s[j] = vhsum(a);
    }
}

#define PVR_DC (VW == 1 ? 16 : 4)

// o = Σ_j p[j] · v[j] (o is overwritten).
void AT(pv_row)(LATTE_ATTN_PV_ROW_ARGS) {
    long c = 0;
    for (; c + PVR_DC * VW <= d; c += PVR_DC * VW) {
        V acc[PVR_DC];
        for (int i = 0; i < PVR_DC; ++i) acc[i] = vzero();
        for (long j = 0; j < nk; ++j) {
            V pj = vset1(p[j]);
            const float *vj = v + j * vstride + c;
            for (int i = 0; i < PVR_DC; ++i) acc[i] = vfma(pj, vload(vj + i * VW), acc[i]);
        }
        for (int i = 0; i < PVR_DC; ++i) vstore(o + c + i * VW, acc[i]);
    }
    for (; c < d; c += VW) {
        long w = d - c < VW ? d - c : VW;
        V a0 = vzero(), a1 = vzero();  // two chains over alternate keys hide the FMA latency
        long j = 0;
        for (; j + 2 <= nk; j += 2) {
            const float *v0 = v + j * vstride + c, *v1 = v0 + vstride;
            a0 = vfma(vset1(p[j]), w == VW ? vload(v0) : vload_part(v0, w, 0.0f), a0);
            a1 = vfma(vset1(p[j + 1]), w == VW ? vload(v1) : vload_part(v1, w, 0.0f), a1);
        }
        if (j < nk) {
            const float *v0 = v + j * vstride + c;
            a0 = vfma(vset1(p[j]), w == VW ? vload(v0) : vload_part(v0, w, 0.0f), a0);
        }
        V a = vadd(a0, a1);
        if (w == VW) vstore(o + c, a); else vstore_part(o + c, a, w);
    }
}
