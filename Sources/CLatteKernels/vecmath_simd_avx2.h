// AVX2 + FMA lane primitives for the kernel templates (8 floats per vector). See
// vecmath_simd_avx512.h for the scheme.
#include <immintrin.h>
#include <stdint.h>

#pragma clang attribute push (__attribute__((target("avx2,fma"))), apply_to = function)

#define VW 8
#define VM_SUFFIX avx2
typedef __m256 V;
typedef __m256i VI;
typedef __m256 M;  // all-ones / all-zeros lanes

static inline __m256i vm_tailmask(long n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}
static inline V vset1(float a) { return _mm256_set1_ps(a); }
static inline V vzero(void) { return _mm256_setzero_ps(); }
static inline V vload(const float *p) { return _mm256_loadu_ps(p); }
static inline void vstore(float *p, V v) { _mm256_storeu_ps(p, v); }
static inline V vload_part(const float *p, long n, float fill) {
    __m256i m = vm_tailmask(n);
    return _mm256_blendv_ps(_mm256_set1_ps(fill), _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m));
}
static inline void vstore_part(float *p, V v, long n) { _mm256_maskstore_ps(p, vm_tailmask(n), v); }
static inline V vadd(V a, V b) { return _mm256_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm256_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm256_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm256_div_ps(a, b); }
// 1/d. A 12-bit estimate plus one Newton step would leave 1/1 ≠ 1, which the derivative
// kernels' σ(1 − σ) terms amplify, so AVX2 divides.
static inline V vrecip(V d) { return _mm256_div_ps(_mm256_set1_ps(1.0f), d); }
static inline V vsqrt(V a) { return _mm256_sqrt_ps(a); }
static inline V vfma(V a, V b, V c) { return _mm256_fmadd_ps(a, b, c); }
static inline V vfnma(V a, V b, V c) { return _mm256_fnmadd_ps(a, b, c); }
static inline V vmin(V a, V b) { return _mm256_min_ps(a, b); }
static inline V vmax(V a, V b) { return _mm256_max_ps(a, b); }
static inline V vabs(V a) { return _mm256_and_ps(a, _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff))); }
static inline V vand(V a, V b) { return _mm256_and_ps(a, b); }
static inline V vor(V a, V b) { return _mm256_or_ps(a, b); }
static inline V vround(V a) { return _mm256_round_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline M vlt(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
static inline M vge(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_GE_OQ); }
static inline M veq(V a, V b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
static inline M visnan(V a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
static inline V vsel(M m, V a, V b) { return _mm256_blendv_ps(b, a, m); }
static inline VI vasi(V a) { return _mm256_castps_si256(a); }
static inline V vasf(VI a) { return _mm256_castsi256_ps(a); }
static inline VI viset1(int32_t a) { return _mm256_set1_epi32(a); }
static inline VI viand(VI a, VI b) { return _mm256_and_si256(a, b); }
static inline VI vior(VI a, VI b) { return _mm256_or_si256(a, b); }
static inline VI visub(VI a, VI b) { return _mm256_sub_epi32(a, b); }
static inline VI vsrl23(VI a) { return _mm256_srli_epi32(a, 23); }
static inline V vcvti(VI a) { return _mm256_cvtepi32_ps(a); }
// p · 2^n in two halves so that n in [−150, 128] never leaves the normal exponent range of
// either factor: overflow still gives inf and subnormal results stay gradual.
static inline V vscale2(V p, V n) {
    __m256i ni = _mm256_cvtps_epi32(n);
    __m256i n1 = _mm256_srai_epi32(ni, 1);
    __m256i n2 = _mm256_sub_epi32(ni, n1);
    __m256 f1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n1, _mm256_set1_epi32(127)), 23));
    __m256 f2 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(n2, _mm256_set1_epi32(127)), 23));
    return _mm256_mul_ps(_mm256_mul_ps(p, f1), f2);
}
static inline float vhsum(V a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
static inline float vhmax(V a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}
