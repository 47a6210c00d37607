// AVX2+FMA quantised GEMV: as the AVX-512 variant with 8-wide vectors (a block is four ymm of weights);
// four rows at a time share the x loads, which with 4 accumulators stays within 16 ymm registers.
#include "quant_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma,f16c")))

static inline AVX2 __attribute__((always_inline)) float half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

static inline AVX2 __attribute__((always_inline)) __m256 i8x8(const uint8_t *p) {
    return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

static inline AVX2 __attribute__((always_inline)) __m256 q8_block(const uint8_t *blk, const __m256 xv[4], __m256 acc) {
    __m256 t = _mm256_mul_ps(i8x8(blk + 2), xv[0]);
    t = _mm256_fmadd_ps(i8x8(blk + 10), xv[1], t);
    t = _mm256_fmadd_ps(i8x8(blk + 18), xv[2], t);
    t = _mm256_fmadd_ps(i8x8(blk + 26), xv[3], t);
    return _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), t, acc);
}

static inline AVX2 __attribute__((always_inline)) float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static inline AVX2 __attribute__((always_inline)) void load_x(const float *x, __m256 xv[4]) {
    for (int i = 0; i < 4; i++) xv[i] = _mm256_loadu_ps(x + 8 * i);
}

AVX2 void latte_qgemv_q8_0_avx2(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                                float *y) {
    ptrdiff_t nb = k / QK, j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint8_t *r0 = w + j * rowBytes, *r1 = r0 + rowBytes, *r2 = r1 + rowBytes, *r3 = r2 + rowBytes;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, xv[4];
        for (ptrdiff_t b = 0; b < nb; b++) {
            load_x(x + b * QK, xv);
            ptrdiff_t o = b * Q8_0_BYTES;
            a0 = q8_block(r0 + o, xv, a0);
            a1 = q8_block(r1 + o, xv, a1);
            a2 = q8_block(r2 + o, xv, a2);
            a3 = q8_block(r3 + o, xv, a3);
        }
        y[j] = hsum(a0);
        y[j + 1] = hsum(a1);
        y[j + 2] = hsum(a2);
        y[j + 3] = hsum(a3);
    }
    for (; j < n; j++) {
        const uint8_t *r0 = w + j * rowBytes;
        __m256 a0 = _mm256_setzero_ps(), xv[4];
        for (ptrdiff_t b = 0; b < nb; b++) {
            load_x(x + b * QK, xv);
            a0 = q8_block(r0 + b * Q8_0_BYTES, xv, a0);
        }
        y[j] = hsum(a0);
    }
}

// One Q4_1 block: bytes 0..7 hold elements 0..7 (low nibbles) and 16..23 (high); bytes 8..15 hold
// 8..15 and 24..31.
static inline AVX2 __attribute__((always_inline)) __m256 q41_block(const uint8_t *blk, const __m256 xv[4], float s,
                                                                   __m256 acc, float *macc) {
    __m256i mask = _mm256_set1_epi32(15);
    __m256i qa = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 4)));
    __m256i qb = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(blk + 12)));
    __m256 t = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_and_si256(qa, mask)), xv[0]);
    t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(qb, mask)), xv[1], t);
    t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(qa, 4)), xv[2], t);
    t = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(qb, 4)), xv[3], t);
    *macc += half(blk + 2) * s;
    return _mm256_fmadd_ps(_mm256_set1_ps(half(blk)), t, acc);
}

AVX2 void latte_qgemv_q4_1_avx2(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                                const float *sx, float *y) {
    ptrdiff_t nb = k / QK, j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint8_t *r0 = w + j * rowBytes, *r1 = r0 + rowBytes, *r2 = r1 + rowBytes, *r3 = r2 + rowBytes;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0, xv[4];
        float m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            load_x(x + b * QK, xv);
            float s = sx[b];
            ptrdiff_t o = b * Q4_1_BYTES;
            a0 = q41_block(r0 + o, xv, s, a0, &m0);
            a1 = q41_block(r1 + o, xv, s, a1, &m1);
            a2 = q41_block(r2 + o, xv, s, a2, &m2);
            a3 = q41_block(r3 + o, xv, s, a3, &m3);
        }
        y[j] = hsum(a0) + m0;
        y[j + 1] = hsum(a1) + m1;
        y[j + 2] = hsum(a2) + m2;
        y[j + 3] = hsum(a3) + m3;
    }
    for (; j < n; j++) {
        const uint8_t *r0 = w + j * rowBytes;
        __m256 a0 = _mm256_setzero_ps(), xv[4];
        float m0 = 0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            load_x(x + b * QK, xv);
            a0 = q41_block(r0 + b * Q4_1_BYTES, xv, sx[b], a0, &m0);
        }
        y[j] = hsum(a0) + m0;
    }
}
#endif
