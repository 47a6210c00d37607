// Row-at-a-time quantised GEMV loops, shared by gemv_quant_avx2.c and gemv_quant_avx512.c. The
// including file defines RATTR (target attribute), RSUFFIX and the block dot products
//   __m256i RDOT_Q8(__m256i w, __m256i xq)   eight int32 partial sums of Σ w[i]·xq[i], w signed
//   __m256i RDOT_U4(__m256i q, __m256i xq)   the same with q unsigned (0..15)
// The block arithmetic is the portable kernels' (quant_generic.c: same integers, same per-block float
// scaling), vectorised; each row's blocks are read in address order before the next row starts, so the
// weights stream linearly (latte_gemv.h explains why that matters), and two accumulators over even and
// odd blocks keep two FMA chains in flight within the row.
#include <immintrin.h>
#include <string.h>

#define RCAT2(a, b) a##b
#define RCAT(a, b) RCAT2(a, b)

static inline RATTR __attribute__((always_inline)) float rhalf(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline RATTR __attribute__((always_inline)) float rsum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline RATTR __attribute__((always_inline)) __m256 rq8_block(const uint8_t *blk, const int8_t *xq, float dx,
                                                                    __m256 acc) {
    __m256i dot = RDOT_Q8(_mm256_loadu_si256((const __m256i *)(blk + 2)), _mm256_loadu_si256((const __m256i *)xq));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(rhalf(blk) * dx), acc);
}

// Q4_1 byte i holds element i (low nibble) and element i + 16 (high nibble).
static inline RATTR __attribute__((always_inline)) __m256 rq41_block(const uint8_t *blk, const int8_t *xq, float dx,
                                                                     __m256 acc) {
    __m128i qs = _mm_loadu_si128((const __m128i *)(blk + 4)), m4 = _mm_set1_epi8(15);
    __m128i lo = _mm_and_si128(qs, m4), hi = _mm_and_si128(_mm_srli_epi16(qs, 4), m4);
    __m256i dot = RDOT_U4(_mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1),
                          _mm256_loadu_si256((const __m256i *)xq));
    return _mm256_fmadd_ps(_mm256_cvtepi32_ps(dot), _mm256_set1_ps(rhalf(blk) * dx), acc);
}

RATTR void RCAT(latte_qgemv_rowwise_q8_0_, RSUFFIX)(QGEMV_ARGS) {
    ptrdiff_t nb = k / QK;
    for (ptrdiff_t j = 0; j < n; j++) {
        const uint8_t *row = w + j * rowBytes;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        ptrdiff_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            a0 = rq8_block(row + b * Q8_0_BYTES, x.xq + b * QK, x.dx[b], a0);
            a1 = rq8_block(row + (b + 1) * Q8_0_BYTES, x.xq + (b + 1) * QK, x.dx[b + 1], a1);
        }
        if (b < nb) a0 = rq8_block(row + b * Q8_0_BYTES, x.xq + b * QK, x.dx[b], a0);
        y[j] = rsum8(_mm256_add_ps(a0, a1));
    }
}

// The offset term Σ_b m_b·sx[b] is summed in float beside the vector accumulators.
RATTR void RCAT(latte_qgemv_rowwise_q4_1_, RSUFFIX)(QGEMV_ARGS) {
    ptrdiff_t nb = k / QK;
    for (ptrdiff_t j = 0; j < n; j++) {
        const uint8_t *row = w + j * rowBytes;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0;
        float m0 = 0, m1 = 0;
        ptrdiff_t b = 0;
        for (; b + 2 <= nb; b += 2) {
            const uint8_t *b0 = row + b * Q4_1_BYTES, *b1 = b0 + Q4_1_BYTES;
            a0 = rq41_block(b0, x.xq + b * QK, x.dx[b], a0);
            a1 = rq41_block(b1, x.xq + (b + 1) * QK, x.dx[b + 1], a1);
            m0 += rhalf(b0 + 2) * x.sx[b];
            m1 += rhalf(b1 + 2) * x.sx[b + 1];
        }
        if (b < nb) {
            const uint8_t *b0 = row + b * Q4_1_BYTES;
            a0 = rq41_block(b0, x.xq + b * QK, x.dx[b], a0);
            m0 += rhalf(b0 + 2) * x.sx[b];
        }
        y[j] = rsum8(_mm256_add_ps(a0, a1)) + (m0 + m1);
    }
}
