// The row loops of the x86 quantised GEMVs, shared by quant_avx2.c and quant_avx512.c. The including
// file defines QATTR (target attribute), QSUFFIX, and the block dot products
//   __m256i DOT_Q8(__m256i w, __m256i xq)   eight int32 partial sums of Σ w[i]·xq[i], w signed
//   __m256i DOT_U4(__m256i q, __m256i xq)   the same with q unsigned (0..15)
// Four rows at a time share each x load; every block's int32 sums are scaled by d·dx in float.
#include <immintrin.h>

// Software prefetch of the same block in the next group of four rows, in each of the four row
// streams: the hardware prefetcher alone left the large matrices (the Q8_0 output projection) at half
// the float32 GEMV's bandwidth. Prefetching past the matrix's end is harmless (prefetches never fault).
#ifndef QPREFETCH_ROWS
#define QPREFETCH_ROWS 4
#endif
#define QPREFETCH(r0, r1, r2, r3, o)                                                                      \
    do {                                                                                                 \
        ptrdiff_t ahead = (o) + QPREFETCH_ROWS * rowBytes;                                               \
        _mm_prefetch((const char *)(r0 + ahead), _MM_HINT_T0);                                          \
        _mm_prefetch((const char *)(r1 + ahead), _MM_HINT_T0);                                          \
        _mm_prefetch((const char *)(r2 + ahead), _MM_HINT_T0);                                          \
        _mm_prefetch((const char *)(r3 + ahead), _MM_HINT_T0);                                          \
    } while (0)

#define QCAT2(a, b) a##b
#define QCAT(a, b) QCAT2(a, b)

static inline QATTR __attribute__((always_inline)) float half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline QATTR __attribute__((always_inline)) float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline QATTR __attribute__((always_inline)) __m256 q8_block(const uint8_t *blk, __m256i xq, float dx,
                                                                   __m256 acc) {
    __m256i dot = DOT_Q8(_mm256_loadu_si256((const __m256i *)(blk + 2)), xq);
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(half(blk) * dx), acc);
}

// GGUF Q4_1: byte i holds element i in its low nibble and element i + 16 in its high nibble, so the
// low nibbles form the block's first 16 bytes in order and the high nibbles the last 16.
static inline QATTR __attribute__((always_inline)) __m256 q41_block(const uint8_t *blk, __m256i xq, float dx,
                                                                    float sx, __m256 acc, float *macc) {
    __m128i qs = _mm_loadu_si128((const __m128i *)(blk + 4)), m4 = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(qs, m4), hi = _mm_and_si128(_mm_srli_epi16(qs, 4), m4);
    __m256i dot = DOT_U4(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1), xq);
    *macc += half(blk + 2) * sx;
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(half(blk) * dx), acc);
}

QATTR void QCAT(latte_qgemv_q8_0_, QSUFFIX)(QGEMV_ARGS) {
    ptrdiff_t nb = k / QK, j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint8_t *r0 = w + j * rowBytes, *r1 = r0 + rowBytes, *r2 = r1 + rowBytes, *r3 = r2 + rowBytes;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            __m256i xq = _mm256_loadu_si256((const __m256i *)(x.xq + b * QK));
            float dx = x.dx[b];
            ptrdiff_t o = b * Q8_0_BYTES;
            QPREFETCH(r0, r1, r2, r3, o);
            a0 = q8_block(r0 + o, xq, dx, a0);
            a1 = q8_block(r1 + o, xq, dx, a1);
            a2 = q8_block(r2 + o, xq, dx, a2);
            a3 = q8_block(r3 + o, xq, dx, a3);
        }
        y[j] = hsum(a0);
        y[j + 1] = hsum(a1);
        y[j + 2] = hsum(a2);
        y[j + 3] = hsum(a3);
    }
    for (; j < n; j++) {
        const uint8_t *r0 = w + j * rowBytes;
        __m256 a0 = _mm256_setzero_ps();
        for (ptrdiff_t b = 0; b < nb; b++)
            a0 = q8_block(r0 + b * Q8_0_BYTES, _mm256_loadu_si256((const __m256i *)(x.xq + b * QK)), x.dx[b], a0);
        y[j] = hsum(a0);
    }
}

QATTR void QCAT(latte_qgemv_q4_1_, QSUFFIX)(QGEMV_ARGS) {
    ptrdiff_t nb = k / QK, j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint8_t *r0 = w + j * rowBytes, *r1 = r0 + rowBytes, *r2 = r1 + rowBytes, *r3 = r2 + rowBytes;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        float m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            __m256i xq = _mm256_loadu_si256((const __m256i *)(x.xq + b * QK));
            float dx = x.dx[b], s = x.sx[b];
            ptrdiff_t o = b * Q4_1_BYTES;
            QPREFETCH(r0, r1, r2, r3, o);
            a0 = q41_block(r0 + o, xq, dx, s, a0, &m0);
            a1 = q41_block(r1 + o, xq, dx, s, a1, &m1);
            a2 = q41_block(r2 + o, xq, dx, s, a2, &m2);
            a3 = q41_block(r3 + o, xq, dx, s, a3, &m3);
        }
        y[j] = hsum(a0) + m0;
        y[j + 1] = hsum(a1) + m1;
        y[j + 2] = hsum(a2) + m2;
        y[j + 3] = hsum(a3) + m3;
    }
    for (; j < n; j++) {
        const uint8_t *r0 = w + j * rowBytes;
        __m256 a0 = _mm256_setzero_ps();
        float m0 = 0;
        for (ptrdiff_t b = 0; b < nb; b++)
            a0 = q41_block(r0 + b * Q4_1_BYTES, _mm256_loadu_si256((const __m256i *)(x.xq + b * QK)), x.dx[b],
                           x.sx[b], a0, &m0);
        y[j] = hsum(a0) + m0;
    }
}
