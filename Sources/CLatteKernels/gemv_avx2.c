// AVX2+FMA float32 GEMV, one row at a time (see latte_gemv.h for why).
#include "gemv_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX2 __attribute__((target("avx2,fma")))

static inline AVX2 __attribute__((always_inline)) float sum8(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// Four ymm accumulators (32 floats per step): FMA latency 4-5 cycles, so four chains keep up with the
// loads; the k % 8 tail is summed in scalar.
AVX2 void latte_gemv_rowwise_avx2(LATTE_GEMV_ARGS) {
    for (ptrdiff_t j = 0; j < n; j++) {
        const float *row = w + j * ldw;
        __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        ptrdiff_t p = 0;
        for (; p + 32 <= k; p += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + p), _mm256_loadu_ps(x + p), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(row + p + 8), _mm256_loadu_ps(x + p + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(row + p + 16), _mm256_loadu_ps(x + p + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(row + p + 24), _mm256_loadu_ps(x + p + 24), a3);
        }
        for (; p + 8 <= k; p += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(row + p), _mm256_loadu_ps(x + p), a0);
        float s = sum8(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        for (; p < k; p++) s += row[p] * x[p];
        y[j] = alpha * s + (beta != 0 ? beta * y[j] : 0.0f);
    }
}
#endif
