// AVX-512 quantised GEMV: four rows at a time share each x load; a block's 32 weights become two zmm
// of floats (sign/zero-extend, convert), the block's dot product is scaled by d once.
//
// Per block and row: 1 widening load, 2 converts, 1 mul + 2 FMA (Q4_1 adds an and/shift and one
// scalar FMA for the offset m·Σx). Weights are read once, at 1.06 (Q8_0) or 0.625 (Q4_1) bytes each.
#include "quant_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma,f16c")))

static inline AVX512 __attribute__((always_inline)) float half(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// acc += d · (q[0..<16]·xl + q[16..<32]·xh) for one Q8_0 block.
static inline AVX512 __attribute__((always_inline)) __m512 q8_block(const uint8_t *blk, __m512 xl, __m512 xh,
                                                                    __m512 acc) {
    __m512 q0 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 2))));
    __m512 q1 = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(blk + 18))));
    __m512 t = _mm512_fmadd_ps(q1, xh, _mm512_mul_ps(q0, xl));
    return _mm512_fmadd_ps(_mm512_set1_ps(half(blk)), t, acc);
}

AVX512 void latte_qgemv_q8_0_avx512(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                                    float *y) {
    ptrdiff_t nb = k / QK, j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint8_t *r0 = w + j * rowBytes, *r1 = r0 + rowBytes, *r2 = r1 + rowBytes, *r3 = r2 + rowBytes;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            __m512 xl = _mm512_loadu_ps(x + b * QK), xh = _mm512_loadu_ps(x + b * QK + 16);
            ptrdiff_t o = b * Q8_0_BYTES;
            a0 = q8_block(r0 + o, xl, xh, a0);
            a1 = q8_block(r1 + o, xl, xh, a1);
            a2 = q8_block(r2 + o, xl, xh, a2);
            a3 = q8_block(r3 + o, xl, xh, a3);
        }
        y[j] = _mm512_reduce_add_ps(a0);
        y[j + 1] = _mm512_reduce_add_ps(a1);
        y[j + 2] = _mm512_reduce_add_ps(a2);
        y[j + 3] = _mm512_reduce_add_ps(a3);
    }
    for (; j < n; j++) {
        const uint8_t *r0 = w + j * rowBytes;
        __m512 a0 = _mm512_setzero_ps();
        for (ptrdiff_t b = 0; b < nb; b++)
            a0 = q8_block(r0 + b * Q8_0_BYTES, _mm512_loadu_ps(x + b * QK), _mm512_loadu_ps(x + b * QK + 16), a0);
        y[j] = _mm512_reduce_add_ps(a0);
    }
}

// acc += d · (lo·xl + hi·xh) and m_acc += m · Σx for one Q4_1 block: GGUF puts elements 0..15 in the
// low nibbles and 16..31 in the high nibbles of the same 16 bytes.
static inline AVX512 __attribute__((always_inline)) __m512 q41_block(const uint8_t *blk, __m512 xl, __m512 xh,
                                                                     float s, __m512 acc, float *macc) {
    __m512i q = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(blk + 4)));
    __m512 lo = _mm512_cvtepi32_ps(_mm512_and_si512(q, _mm512_set1_epi32(15)));
    __m512 hi = _mm512_cvtepi32_ps(_mm512_srli_epi32(q, 4));
    __m512 t = _mm512_fmadd_ps(hi, xh, _mm512_mul_ps(lo, xl));
    *macc += half(blk + 2) * s;
    return _mm512_fmadd_ps(_mm512_set1_ps(half(blk)), t, acc);
}

AVX512 void latte_qgemv_q4_1_avx512(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                                    const float *sx, float *y) {
    ptrdiff_t nb = k / QK, j = 0;
    for (; j + 4 <= n; j += 4) {
        const uint8_t *r0 = w + j * rowBytes, *r1 = r0 + rowBytes, *r2 = r1 + rowBytes, *r3 = r2 + rowBytes;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        float m0 = 0, m1 = 0, m2 = 0, m3 = 0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            __m512 xl = _mm512_loadu_ps(x + b * QK), xh = _mm512_loadu_ps(x + b * QK + 16);
            float s = sx[b];
            ptrdiff_t o = b * Q4_1_BYTES;
            a0 = q41_block(r0 + o, xl, xh, s, a0, &m0);
            a1 = q41_block(r1 + o, xl, xh, s, a1, &m1);
            a2 = q41_block(r2 + o, xl, xh, s, a2, &m2);
            a3 = q41_block(r3 + o, xl, xh, s, a3, &m3);
        }
        y[j] = _mm512_reduce_add_ps(a0) + m0;
        y[j + 1] = _mm512_reduce_add_ps(a1) + m1;
        y[j + 2] = _mm512_reduce_add_ps(a2) + m2;
        y[j + 3] = _mm512_reduce_add_ps(a3) + m3;
    }
    for (; j < n; j++) {
        const uint8_t *r0 = w + j * rowBytes;
        __m512 a0 = _mm512_setzero_ps();
        float m0 = 0;
        for (ptrdiff_t b = 0; b < nb; b++)
            a0 = q41_block(r0 + b * Q4_1_BYTES, _mm512_loadu_ps(x + b * QK), _mm512_loadu_ps(x + b * QK + 16), sx[b],
                           a0, &m0);
        y[j] = _mm512_reduce_add_ps(a0) + m0;
    }
}
#endif
