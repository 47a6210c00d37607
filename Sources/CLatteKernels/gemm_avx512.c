// AVX-512 GEMM micro-kernel (8×48) and GEMV kernels. Compiled for the default target; only these
// functions carry the AVX-512 target attribute, and they run only when latte_cpu_features() says so.
//
// Why 8×48: 8 rows × 3 zmm = 24 accumulators + 3 B vectors + 1 broadcast = 28 of 32 zmm registers.
// Each k step issues 24 FMAs against 3 loads + 8 broadcasts, so the loads never limit the FMA port
// (Zen 4 retires one 512-bit FMA per cycle, latency 4: 24 independent chains hide it). 8 rows divide
// the common token counts (64, 256, …) exactly, so no work is wasted on M edges there.
#include "gemm_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define MR LATTE_AVX512_MR
#define NR LATTE_AVX512_NR

// One 8×(16·NV) tile over kc steps. NV is a compile-time constant at every call site, so the
// accumulator array is fully unrolled into registers. Columns past nr are masked on load/store.
// A element (i, p) is a[i·rs + p·cs]: a packed panel has rs = 1, cs = MR; row-major A read in place
// has rs = lda, cs = 1 (rows past mr then repeat the last valid row and are never stored).
static inline AVX512 __attribute__((always_inline)) void tile_8xnv(const int NV, ptrdiff_t kc, const float *a,
                                                                   ptrdiff_t rs, ptrdiff_t cs, const float *bp,
                                                                   float *c, ptrdiff_t ldc, ptrdiff_t mr,
                                                                   ptrdiff_t nr, float alpha, float beta) {
    const float *ar[MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) ar[i] = a + (i < mr ? i : mr - 1) * rs;
    __m512 acc[MR][3];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
#pragma clang loop unroll(full)
        for (int v = 0; v < 3; v++) acc[i][v] = _mm512_setzero_ps();
    }
    for (ptrdiff_t p = 0, off = 0; p < kc; p++, off += cs) {
        __m512 b0 = _mm512_load_ps(bp);
        __m512 b1 = NV > 1 ? _mm512_load_ps(bp + 16) : b0;
        __m512 b2 = NV > 2 ? _mm512_load_ps(bp + 32) : b0;
        // Prefetch the B panel a few steps ahead; A panels are small and stay in L1.
        _mm_prefetch((const char *)(bp + 8 * NR), _MM_HINT_T0);
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_set1_ps(ar[i][off]);
            acc[i][0] = _mm512_fmadd_ps(av, b0, acc[i][0]);
            if (NV > 1) acc[i][1] = _mm512_fmadd_ps(av, b1, acc[i][1]);
            if (NV > 2) acc[i][2] = _mm512_fmadd_ps(av, b2, acc[i][2]);
        }
        bp += NR;
    }
    ptrdiff_t lastCols = nr - 16 * (NV - 1);
    __mmask16 lastMask = lastCols >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << lastCols) - 1);
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < mr) {
            float *row = c + i * ldc;
#pragma clang loop unroll(full)
            for (int v = 0; v < NV; v++) {
                __mmask16 m = v == NV - 1 ? lastMask : (__mmask16)0xffff;
                __m512 r = _mm512_mul_ps(acc[i][v], va);
                if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m, row + 16 * v), r);
                _mm512_mask_storeu_ps(row + 16 * v, m, r);
            }
        }
    }
}

static AVX512 void tile_8x48(ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *bp, float *c,
                             ptrdiff_t ldc, ptrdiff_t mr, ptrdiff_t nr, float alpha, float beta) {
    tile_8xnv(3, kc, a, rs, cs, bp, c, ldc, mr, nr, alpha, beta);
}
static AVX512 void tile_8x32(ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *bp, float *c,
                             ptrdiff_t ldc, ptrdiff_t mr, ptrdiff_t nr, float alpha, float beta) {
    tile_8xnv(2, kc, a, rs, cs, bp, c, ldc, mr, nr, alpha, beta);
}
static AVX512 void tile_8x16(ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *bp, float *c,
                             ptrdiff_t ldc, ptrdiff_t mr, ptrdiff_t nr, float alpha, float beta) {
    tile_8xnv(1, kc, a, rs, cs, bp, c, ldc, mr, nr, alpha, beta);
}

AVX512 void latte_gemm_macro_avx512(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const float *a, ptrdiff_t rs,
                                    ptrdiff_t cs, ptrdiff_t panelStride, const float *bp, float *c, ptrdiff_t ldc,
                                    float alpha, float beta) {
    // B micro-panel outer, A micro-panels inner: one B panel (kc×48) is reused by every A panel of
    // the block while it is hot in L1/L2; the A block (mc×kc) stays in L2.
    for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
        ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
        const float *bpanel = bp + (jr / NR) * NR * kc;
        for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
            ptrdiff_t mr = mc - ir < MR ? mc - ir : MR;
            const float *apanel = a + (ir / MR) * panelStride;
            float *ct = c + ir * ldc + jr;
            if (nr > 32) tile_8x48(kc, apanel, rs, cs, bpanel, ct, ldc, mr, nr, alpha, beta);
            else if (nr > 16) tile_8x32(kc, apanel, rs, cs, bpanel, ct, ldc, mr, nr, alpha, beta);
            else tile_8x16(kc, apanel, rs, cs, bpanel, ct, ldc, mr, nr, alpha, beta);
        }
    }
}

static inline AVX512 __attribute__((always_inline)) __mmask16 tail_mask(ptrdiff_t n) {
    return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
}

// y = xᵀ·B with B [k, n] row-major: 64 output columns live in 4 zmm accumulators while k streams.
AVX512 void latte_gemv_cols_avx512(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, const float *x,
                                   float *y, float alpha, float beta) {
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (ptrdiff_t j = 0; j < n; j += 64) {
        __mmask16 m[4];
        for (int v = 0; v < 4; v++) {
            ptrdiff_t rem = n - j - 16 * v;
            m[v] = rem <= 0 ? 0 : tail_mask(rem);
        }
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        const float *bj = b + j;
        for (ptrdiff_t p = 0; p < k; p++) {
            __m512 xv = _mm512_set1_ps(x[p]);
            const float *row = bj + p * ldb;
            a0 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m[0], row), a0);
            a1 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m[1], row + 16), a1);
            a2 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m[2], row + 32), a2);
            a3 = _mm512_fmadd_ps(xv, _mm512_maskz_loadu_ps(m[3], row + 48), a3);
        }
        __m512 acc[4] = {a0, a1, a2, a3};
        for (int v = 0; v < 4; v++) {
            if (!m[v]) break;
            __m512 r = _mm512_mul_ps(acc[v], va);
            if (beta != 0) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m[v], y + j + 16 * v), r);
            _mm512_mask_storeu_ps(y + j + 16 * v, m[v], r);
        }
    }
}
#endif
