// Float64 C = A·Bᵀ for the Fréchet distance's D×D products (see latte_float64.h). Each output is a
// dot product of a row of A and a row of B over k; the k range is cut into panels of KC so that a
// block of NB rows of B stays in L2 while every row of A passes it.
#include "latte_float64.h"
#include "latte_cpu.h"

enum { KC = 256, NB = 64 };

static void dot_tile_scalar(const double *a, size_t lda, const double *b, size_t ldb, double *c, size_t ldc,
                            size_t rows, size_t cols, size_t kc, int first) {
    for (size_t i = 0; i < rows; i++) {
        for (size_t j = 0; j < cols; j++) {
            double s = 0;
            for (size_t p = 0; p < kc; p++) s += a[i * lda + p] * b[j * ldb + p];
            c[i * ldc + j] = first ? s : c[i * ldc + j] + s;
        }
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

// 4 rows of A × 4 rows of B, 8 lanes of k at a time; tails of k in scalar.
__attribute__((target("avx512f")))
static void dot_tile_avx512(const double *a, size_t lda, const double *b, size_t ldb, double *c, size_t ldc,
                            size_t rows, size_t cols, size_t kc, int first) {
    if (rows != 4 || cols != 4) { dot_tile_scalar(a, lda, b, ldb, c, ldc, rows, cols, kc, first); return; }
    __m512d acc[4][4];
    for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) acc[i][j] = _mm512_setzero_pd();
    size_t p = 0;
    for (; p + 8 <= kc; p += 8) {
        __m512d bv[4];
        for (int j = 0; j < 4; j++) bv[j] = _mm512_loadu_pd(b + j * ldb + p);
        for (int i = 0; i < 4; i++) {
            __m512d av = _mm512_loadu_pd(a + i * lda + p);
            for (int j = 0; j < 4; j++) acc[i][j] = _mm512_fmadd_pd(av, bv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < 4; i++) {
        for (int j = 0; j < 4; j++) {
            double s = _mm512_reduce_add_pd(acc[i][j]);
            for (size_t q = p; q < kc; q++) s += a[i * lda + q] * b[j * ldb + q];
            c[i * ldc + j] = first ? s : c[i * ldc + j] + s;
        }
    }
}

__attribute__((target("avx2,fma")))
static inline double hsum_avx2(__m256d v) {
    __m128d lo = _mm256_castpd256_pd128(v), hi = _mm256_extractf128_pd(v, 1);
    lo = _mm_add_pd(lo, hi);
    return _mm_cvtsd_f64(_mm_add_sd(lo, _mm_unpackhi_pd(lo, lo)));
}

// 2 rows of A × 4 rows of B (8 accumulators of the 16 registers), 4 lanes of k at a time.
__attribute__((target("avx2,fma")))
static void dot_tile_avx2(const double *a, size_t lda, const double *b, size_t ldb, double *c, size_t ldc,
                          size_t rows, size_t cols, size_t kc, int first) {
    if (rows != 2 || cols != 4) { dot_tile_scalar(a, lda, b, ldb, c, ldc, rows, cols, kc, first); return; }
    __m256d acc[2][4];
    for (int i = 0; i < 2; i++) for (int j = 0; j < 4; j++) acc[i][j] = _mm256_setzero_pd();
    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        __m256d bv[4];
        for (int j = 0; j < 4; j++) bv[j] = _mm256_loadu_pd(b + j * ldb + p);
        for (int i = 0; i < 2; i++) {
            __m256d av = _mm256_loadu_pd(a + i * lda + p);
            for (int j = 0; j < 4; j++) acc[i][j] = _mm256_fmadd_pd(av, bv[j], acc[i][j]);
        }
    }
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 4; j++) {
            double s = hsum_avx2(acc[i][j]);
            for (size_t q = p; q < kc; q++) s += a[i * lda + q] * b[j * ldb + q];
            c[i * ldc + j] = first ? s : c[i * ldc + j] + s;
        }
    }
}
#endif

typedef void (*dot_tile_fn)(const double *, size_t, const double *, size_t, double *, size_t, size_t, size_t, size_t, int);

void latte_dgemm_nt(const double *a, size_t lda, const double *b, size_t ldb, double *c, size_t ldc,
                    size_t m, size_t n, size_t k) {
    dot_tile_fn tile = dot_tile_scalar;
    size_t mr = 1, nr = 1;
#if defined(__x86_64__)
    unsigned f = latte_cpu_features();
    if (f & LATTE_CPU_AVX512F) { tile = dot_tile_avx512; mr = 4; nr = 4; }
    else if ((f & LATTE_CPU_AVX2) && (f & LATTE_CPU_FMA)) { tile = dot_tile_avx2; mr = 2; nr = 4; }
#endif
    if (k == 0) {
        for (size_t i = 0; i < m; i++) for (size_t j = 0; j < n; j++) c[i * ldc + j] = 0;
        return;
    }
    for (size_t p0 = 0; p0 < k; p0 += KC) {
        size_t kc = k - p0 < KC ? k - p0 : KC;
        for (size_t j0 = 0; j0 < n; j0 += NB) {
            size_t nb = n - j0 < NB ? n - j0 : NB;
            for (size_t i = 0; i < m; i += mr) {
                size_t rows = m - i < mr ? m - i : mr;
                for (size_t j = j0; j < j0 + nb; j += nr) {
                    size_t cols = j0 + nb - j < nr ? j0 + nb - j : nr;
                    tile(a + i * lda + p0, lda, b + j * ldb + p0, ldb, c + i * ldc + j, ldc, rows, cols, kc, p0 == 0);
                }
            }
        }
    }
}
