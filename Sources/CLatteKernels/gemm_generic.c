// Portable GEMM pieces in plain C: the fallback on x86-64 CPUs without AVX2/FMA and the path on
// arm64, where the fixed-size inner loops auto-vectorise to NEON. They also serve as the reference
// layout that the SIMD packers must reproduce.
#include "gemm_internal.h"

#define MR LATTE_GENERIC_MR
#define NR LATTE_GENERIC_NR

void latte_pack_kcontig_generic(ptrdiff_t width, const float *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t rows,
                                float *dst) {
    ptrdiff_t panels = (rows + width - 1) / width;
    for (ptrdiff_t q = 0; q < panels; q++) {
        float *panel = dst + q * width * kc;
        for (ptrdiff_t j = 0; j < width; j++) {
            ptrdiff_t row = q * width + j;
            if (row < rows) {
                const float *s = src + row * ld;
                for (ptrdiff_t p = 0; p < kc; p++) panel[p * width + j] = s[p];
            } else {
                for (ptrdiff_t p = 0; p < kc; p++) panel[p * width + j] = 0;
            }
        }
    }
}

void latte_pack_ncontig_generic(ptrdiff_t width, const float *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t cols,
                                float *dst) {
    ptrdiff_t panels = (cols + width - 1) / width;
    for (ptrdiff_t q = 0; q < panels; q++) {
        float *panel = dst + q * width * kc;
        ptrdiff_t col0 = q * width;
        ptrdiff_t live = cols - col0 < width ? cols - col0 : width;
        for (ptrdiff_t p = 0; p < kc; p++) {
            const float *s = src + p * ld + col0;
            float *d = panel + p * width;
            ptrdiff_t j = 0;
            for (; j < live; j++) d[j] = s[j];
            for (; j < width; j++) d[j] = 0;
        }
    }
}

// Full MR×NR tile into a local array (the compiler keeps it in vector registers), then a scalar
// merge that handles edges, alpha and beta (beta == 0: C is not read).
// A element (i, p) is a[i·rs + p·cs] (packed: rs = 1, cs = MR; in place: rs = lda, cs = 1).
static void tile_generic(ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs, const float *bp, float *c,
                         ptrdiff_t ldc, ptrdiff_t mr, ptrdiff_t nr, float alpha, float beta) {
    const float *ar[MR];
    for (int i = 0; i < MR; i++) ar[i] = a + (i < mr ? i : mr - 1) * rs;
    float acc[MR][NR] = {{0}};
    for (ptrdiff_t p = 0, off = 0; p < kc; p++, off += cs) {
        for (int i = 0; i < MR; i++) {
            float av = ar[i][off];
            for (int j = 0; j < NR; j++) acc[i][j] += av * bp[j];
        }
        bp += NR;
    }
    for (ptrdiff_t i = 0; i < mr; i++) {
        float *row = c + i * ldc;
        if (beta == 0) {
            for (ptrdiff_t j = 0; j < nr; j++) row[j] = alpha * acc[i][j];
        } else {
            for (ptrdiff_t j = 0; j < nr; j++) row[j] = alpha * acc[i][j] + beta * row[j];
        }
    }
}

void latte_gemm_macro_generic(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
                              ptrdiff_t panelStride, const float *bp, float *c, ptrdiff_t ldc, float alpha,
                              float beta) {
    for (ptrdiff_t jr = 0; jr < nc; jr += NR) {
        ptrdiff_t nr = nc - jr < NR ? nc - jr : NR;
        const float *bpanel = bp + (jr / NR) * NR * kc;
        for (ptrdiff_t ir = 0; ir < mc; ir += MR) {
            ptrdiff_t mr = mc - ir < MR ? mc - ir : MR;
            tile_generic(kc, a + (ir / MR) * panelStride, rs, cs, bpanel, c + ir * ldc + jr, ldc, mr, nr, alpha,
                         beta);
        }
    }
}

void latte_gemv_cols_generic(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, const float *x, float *y,
                             float alpha, float beta) {
    enum { BLOCK = 64 };
    for (ptrdiff_t j0 = 0; j0 < n; j0 += BLOCK) {
        ptrdiff_t cols = n - j0 < BLOCK ? n - j0 : BLOCK;
        float acc[BLOCK] = {0};
        for (ptrdiff_t p = 0; p < k; p++) {
            const float *row = b + p * ldb + j0;
            float xv = x[p];
            for (ptrdiff_t j = 0; j < cols; j++) acc[j] += xv * row[j];
        }
        for (ptrdiff_t j = 0; j < cols; j++) y[j0 + j] = alpha * acc[j] + (beta != 0 ? beta * y[j0 + j] : 0.0f);
    }
}
