// AdamW update kernels. Swift at the baseline x86-64 target turns SIMD square roots into scalar
// sqrtss and cannot use AVX; these carry per-function target attributes and are chosen at run time.
#include "latte_optimizer.h"
#include "latte_cpu.h"
#include <math.h>

// Keep a·b + c as two rounded operations in every variant (bit-identical results).
#pragma clang fp contract(off)

static inline void adamw_scalar(float *p, const float *g, float *m, float *v, size_t i, size_t n,
                                float b1c, float b2, float b2c, float bc2s, float eps, float ss, float keep) {
    for (; i < n; i++) {
        float gi = g[i];
        float mi = m[i] + b1c * (gi - m[i]);
        float vi = v[i] * b2 + b2c * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2s + eps;
        p[i] = p[i] * keep - ss * (mi / denom);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f")))
static void adamw_avx512(float *p, const float *g, float *m, float *v, size_t n,
                         float b1c, float b2, float b2c, float bc2s, float eps, float ss, float keep) {
    const __m512 vb1c = _mm512_set1_ps(b1c), vb2 = _mm512_set1_ps(b2), vb2c = _mm512_set1_ps(b2c);
    const __m512 vbc2s = _mm512_set1_ps(bc2s), veps = _mm512_set1_ps(eps), vss = _mm512_set1_ps(ss), vkeep = _mm512_set1_ps(keep);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512 gi = _mm512_loadu_ps(g + i), mi = _mm512_loadu_ps(m + i), vi = _mm512_loadu_ps(v + i), pi = _mm512_loadu_ps(p + i);
        mi = _mm512_add_ps(mi, _mm512_mul_ps(vb1c, _mm512_sub_ps(gi, mi)));
        vi = _mm512_add_ps(_mm512_mul_ps(vi, vb2), _mm512_mul_ps(_mm512_mul_ps(vb2c, gi), gi));
        __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), vbc2s), veps);
        pi = _mm512_sub_ps(_mm512_mul_ps(pi, vkeep), _mm512_mul_ps(vss, _mm512_div_ps(mi, denom)));
        _mm512_storeu_ps(m + i, mi);
        _mm512_storeu_ps(v + i, vi);
        _mm512_storeu_ps(p + i, pi);
    }
    adamw_scalar(p, g, m, v, i, n, b1c, b2, b2c, bc2s, eps, ss, keep);
}

__attribute__((target("avx2")))
static void adamw_avx2(float *p, const float *g, float *m, float *v, size_t n,
                       float b1c, float b2, float b2c, float bc2s, float eps, float ss, float keep) {
    const __m256 vb1c = _mm256_set1_ps(b1c), vb2 = _mm256_set1_ps(b2), vb2c = _mm256_set1_ps(b2c);
    const __m256 vbc2s = _mm256_set1_ps(bc2s), veps = _mm256_set1_ps(eps), vss = _mm256_set1_ps(ss), vkeep = _mm256_set1_ps(keep);
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 gi = _mm256_loadu_ps(g + i), mi = _mm256_loadu_ps(m + i), vi = _mm256_loadu_ps(v + i), pi = _mm256_loadu_ps(p + i);
        mi = _mm256_add_ps(mi, _mm256_mul_ps(vb1c, _mm256_sub_ps(gi, mi)));
        vi = _mm256_add_ps(_mm256_mul_ps(vi, vb2), _mm256_mul_ps(_mm256_mul_ps(vb2c, gi), gi));
        __m256 denom = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vi), vbc2s), veps);
        pi = _mm256_sub_ps(_mm256_mul_ps(pi, vkeep), _mm256_mul_ps(vss, _mm256_div_ps(mi, denom)));
        _mm256_storeu_ps(m + i, mi);
        _mm256_storeu_ps(v + i, vi);
        _mm256_storeu_ps(p + i, pi);
    }
    adamw_scalar(p, g, m, v, i, n, b1c, b2, b2c, bc2s, eps, ss, keep);
}
#endif

void latte_adamw_step(float *p, const float *g, float *m, float *v, size_t n,
                      float b1c, float b2, float b2c, float bc2s, float eps, float ss, float keep) {
#if defined(__x86_64__)
    unsigned f = latte_cpu_features();
    if (f & LATTE_CPU_AVX512F) { adamw_avx512(p, g, m, v, n, b1c, b2, b2c, bc2s, eps, ss, keep); return; }
    if (f & LATTE_CPU_AVX2) { adamw_avx2(p, g, m, v, n, b1c, b2, b2c, bc2s, eps, ss, keep); return; }
#endif
    adamw_scalar(p, g, m, v, 0, n, b1c, b2, b2c, bc2s, eps, ss, keep);
}
