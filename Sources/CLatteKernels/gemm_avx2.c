// AVX2+FMA GEMM micro-kernel (6×16), GEMV kernels, and the x86 packing routines (also used by the
// AVX-512 family: packing is bandwidth-bound, and 8×8 ymm transposes already saturate it).
//
// Why 6×16: 16 ymm registers hold 6 rows × 2 ymm = 12 accumulators + 2 B vectors + 1 broadcast.
#include "gemm_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define AVX2 __attribute__((target("avx2,fma")))
#define MR LATTE_AVX2_MR
#define NR LATTE_AVX2_NR

static inline AVX2 __attribute__((always_inline)) __m256i lane_mask(ptrdiff_t n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n < 8 ? n : 8)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// ---- packing --------------------------------------------------------------------------------------

// In-register 8×8 transpose: on return r[t] holds column t of the input rows.
static inline AVX2 __attribute__((always_inline)) void transpose8(__m256 r[8]) {
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// dst panel q: dst[q·width·kc + k·width + j] = src[(q·width + j)·ld + k]. The source rows are
// contiguous in k (row-major A, or B = Wᵀ with W [n, k]), so this is a transpose done in 8×8 tiles.
AVX2 void latte_pack_kcontig_avx2(ptrdiff_t width, const float *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t rows,
                                  float *dst) {
    if (width % 8 != 0) {
        latte_pack_kcontig_generic(width, src, ld, kc, rows, dst);
        return;
    }
    ptrdiff_t panels = (rows + width - 1) / width;
    for (ptrdiff_t q = 0; q < panels; q++) {
        float *panel = dst + q * width * kc;
        for (ptrdiff_t g = 0; g < width; g += 8) {
            ptrdiff_t row0 = q * width + g;
            ptrdiff_t live = rows - row0;  // rows of this 8-group that exist
            if (live > 8) live = 8;
            const float *s[8];
            for (int r = 0; r < 8; r++) s[r] = src + (row0 + (r < live ? r : 0)) * ld;
            ptrdiff_t p = 0;
            if (live == 8) {
                for (; p + 8 <= kc; p += 8) {
                    __m256 v[8];
                    for (int r = 0; r < 8; r++) v[r] = _mm256_loadu_ps(s[r] + p);
                    transpose8(v);
                    for (int t = 0; t < 8; t++) _mm256_store_ps(panel + (p + t) * width + g, v[t]);
                }
            }
            // Edges (missing rows or the k tail): masked loads, zero rows past the matrix.
            for (; p < kc; p += 8) {
                __m256i m = lane_mask(kc - p);
                __m256 v[8];
                for (int r = 0; r < 8; r++)
                    v[r] = r < live ? _mm256_maskload_ps(s[r] + p, m) : _mm256_setzero_ps();
                transpose8(v);
                ptrdiff_t steps = kc - p < 8 ? kc - p : 8;
                for (ptrdiff_t t = 0; t < steps; t++) _mm256_store_ps(panel + (p + t) * width + g, v[t]);
            }
        }
    }
}

// dst panel q: dst[q·width·kc + k·width + j] = src[k·ld + q·width + j]: a strided row copy.
AVX2 void latte_pack_ncontig_avx2(ptrdiff_t width, const float *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t cols,
                                  float *dst) {
    ptrdiff_t panels = (cols + width - 1) / width;
    for (ptrdiff_t q = 0; q < panels; q++) {
        float *panel = dst + q * width * kc;
        ptrdiff_t col0 = q * width;
        ptrdiff_t live = cols - col0 < width ? cols - col0 : width;
        if (live == width && width % 8 == 0) {
            for (ptrdiff_t p = 0; p < kc; p++) {
                const float *s = src + p * ld + col0;
                float *d = panel + p * width;
                for (ptrdiff_t j = 0; j < width; j += 8) _mm256_storeu_ps(d + j, _mm256_loadu_ps(s + j));
            }
        } else {
            for (ptrdiff_t p = 0; p < kc; p++) {
                const float *s = src + p * ld + col0;
                float *d = panel + p * width;
                ptrdiff_t j = 0;
                for (; j < live; j++) d[j] = s[j];
                for (; j < width; j++) d[j] = 0;
            }
        }
    }
}

// ---- micro-kernel ---------------------------------------------------------------------------------

// A element (i, p) is a[i·rs + p·cs] (packed: rs = 1, cs = MR; in place: rs = lda, cs = 1).
static inline AVX2 __attribute__((always_inline)) void tile_6xnv(const int NV, ptrdiff_t kc, const float *a,
                                                                 ptrdiff_t rs, ptrdiff_t cs, const float *bp,
                                                                 float *c, ptrdiff_t ldc, ptrdiff_t mr,
                                                                 ptrdiff_t nr, float alpha, float beta) {
    const float *ar[MR];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) ar[i] = a + (i < mr ? i : mr - 1) * rs;
    __m256 acc[MR][2];
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        acc[i][0] = _mm256_setzero_ps();
        acc[i][1] = _mm256_setzero_ps();
    }
    for (ptrdiff_t p = 0, off = 0; p < kc; p++, off += cs) {
        __m256 b0 = _mm256_load_ps(bp);
        __m256 b1 = NV > 1 ? _mm256_load_ps(bp + 8) : b0;
#pragma clang loop unroll(full)
        for (int i = 0; i < MR; i++) {
            __m256 av = _mm256_broadcast_ss(ar[i] + off);
            acc[i][0] = _mm256_fmadd_ps(av, b0, acc[i][0]);
            if (NV > 1) acc[i][1] = _mm256_fmadd_ps(av, b1, acc[i][1]);
        }
        bp += NR;
    }
    __m256i lastMask = lane_mask(nr - 8 * (NV - 1));
    __m256i full = _mm256_set1_epi32(-1);
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
#pragma clang loop unroll(full)
    for (int i = 0; i < MR; i++) {
        if (i < mr) {
            float *row = c + i * ldc;
#pragma clang loop unroll(full)
            for (int v = 0; v < NV; v++) {
                __m256i m = v == NV - 1 ? lastMask : full;
                __m256 r = _mm256_mul_ps(acc[i][v], va);
                if (beta != 0) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(row + 8 * v, m), r);
                _mm256_maskstore_ps(row + 8 * v, m, r);
            }
        }
    }
}

static AVX2 void tile_6x16(ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *bp, float *c,
                           ptrdiff_t ldc, ptrdiff_t mr, ptrdiff_t nr, float alpha, float beta) {
    tile_6xnv(2, kc, a, rs, cs, bp, c, ldc, mr, nr, alpha, beta);
}
static AVX2 void tile_6x8(ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *bp, float *c,
                           ptrdiff_t ldc, ptrdiff_t mr, ptrdiff_t nr, float alpha, float beta) {
    tile_6xnv(1, kc, a, rs, cs, bp, c, ldc, mr, nr, alpha, beta);
}

AVX2 void latte_gemm_macro_avx2(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
                                ptrdiff_t panelStride, const float *bp, float *c, ptrdiff_t ldc, float alpha,
                                float beta) {
    for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
        ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
        const float *bpanel = bp + (jr / NR) * NR * kc;
        for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
            ptrdiff_t mr = mc - ir < MR ? mc - ir : MR;
            const float *apanel = a + (ir / MR) * panelStride;
            float *ct = c + ir * ldc + jr;
            if (nr > 8) tile_6x16(kc, apanel, rs, cs, bpanel, ct, ldc, mr, nr, alpha, beta);
            else tile_6x8(kc, apanel, rs, cs, bpanel, ct, ldc, mr, nr, alpha, beta);
        }
    }
}

// ---- GEMV -------------------------------------------------------------------------------------------

AVX2 void latte_gemv_cols_avx2(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, const float *x, float *y,
                               float alpha, float beta) {
    __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
    for (ptrdiff_t j = 0; j < n; j += 32) {
        __m256i m[4];
        for (int v = 0; v < 4; v++) {
            ptrdiff_t rem = n - j - 8 * v;
            m[v] = lane_mask(rem < 0 ? 0 : rem);
        }
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
        const float *bj = b + j;
        for (ptrdiff_t p = 0; p < k; p++) {
            __m256 xv = _mm256_broadcast_ss(x + p);
            const float *row = bj + p * ldb;
            for (int v = 0; v < 4; v++) acc[v] = _mm256_fmadd_ps(xv, _mm256_maskload_ps(row + 8 * v, m[v]), acc[v]);
        }
        for (int v = 0; v < 4; v++) {
            if (n - j - 8 * v <= 0) break;
            __m256 r = _mm256_mul_ps(acc[v], va);
            if (beta != 0) r = _mm256_fmadd_ps(vb, _mm256_maskload_ps(y + j + 8 * v, m[v]), r);
            _mm256_maskstore_ps(y + j + 8 * v, m[v], r);
        }
    }
}
#endif
