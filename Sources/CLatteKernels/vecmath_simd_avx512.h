// AVX-512 lane primitives for the kernel templates (16 floats per vector). Included only by
// vecmath_avx512.c and attention_avx512.c, after which every function in the file is compiled
// for AVX-512 through the pragma below, so no global compiler flag is needed.
#include <immintrin.h>
#include <stdint.h>

#pragma clang attribute push (__attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma"))), apply_to = function)

#define VW 16
#define VM_SUFFIX avx512
typedef __m512 V;
typedef __m512i VI;
typedef __mmask16 M;

static inline M vm_tailmask(long n) { return (M)((1u << n) - 1u); }
static inline V vset1(float a) { return _mm512_set1_ps(a); }
static inline V vzero(void) { return _mm512_setzero_ps(); }
static inline V vload(const float *p) { return _mm512_loadu_ps(p); }
static inline void vstore(float *p, V v) { _mm512_storeu_ps(p, v); }
// First n (< VW) lanes from memory, the other lanes = fill; memory past p + n is not touched.
static inline V vload_part(const float *p, long n, float fill) {
    return _mm512_mask_loadu_ps(_mm512_set1_ps(fill), vm_tailmask(n), p);
}
static inline void vstore_part(float *p, V v, long n) { _mm512_mask_storeu_ps(p, vm_tailmask(n), v); }
static inline V vadd(V a, V b) { return _mm512_add_ps(a, b); }
static inline V vsub(V a, V b) { return _mm512_sub_ps(a, b); }
static inline V vmul(V a, V b) { return _mm512_mul_ps(a, b); }
static inline V vdiv(V a, V b) { return _mm512_div_ps(a, b); }
// 1/d for finite d ≠ 0 (callers keep d in range): 14-bit estimate plus one Newton step, ≈1 ulp
// and several times the throughput of a 512-bit divide.
static inline V vrecip(V d) {
    V r = _mm512_rcp14_ps(d);
    return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0f)), r);
}
static inline V vsqrt(V a) { return _mm512_sqrt_ps(a); }
static inline V vfma(V a, V b, V c) { return _mm512_fmadd_ps(a, b, c); }    // a·b + c
static inline V vfnma(V a, V b, V c) { return _mm512_fnmadd_ps(a, b, c); }  // c − a·b
// x86 min/max semantics: when either input is NaN the second operand is returned.
static inline V vmin(V a, V b) { return _mm512_min_ps(a, b); }
static inline V vmax(V a, V b) { return _mm512_max_ps(a, b); }
static inline V vabs(V a) { return _mm512_abs_ps(a); }
static inline V vand(V a, V b) { return _mm512_and_ps(a, b); }
static inline V vor(V a, V b) { return _mm512_or_ps(a, b); }
static inline V vround(V a) { return _mm512_roundscale_ps(a, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
static inline M vlt(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
static inline M vge(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_GE_OQ); }
static inline M veq(V a, V b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
static inline M visnan(V a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
static inline V vsel(M m, V a, V b) { return _mm512_mask_blend_ps(m, b, a); }  // m ? a : b
static inline VI vasi(V a) { return _mm512_castps_si512(a); }
static inline V vasf(VI a) { return _mm512_castsi512_ps(a); }
static inline VI viset1(int32_t a) { return _mm512_set1_epi32(a); }
static inline VI viand(VI a, VI b) { return _mm512_and_si512(a, b); }
static inline VI vior(VI a, VI b) { return _mm512_or_si512(a, b); }
static inline VI visub(VI a, VI b) { return _mm512_sub_epi32(a, b); }
static inline VI vsrl23(VI a) { return _mm512_srli_epi32(a, 23); }
static inline V vcvti(VI a) { return _mm512_cvtepi32_ps(a); }
// p · 2^n for integral n in [−150, 128]; scalef handles overflow to inf and gradual underflow.
static inline V vscale2(V p, V n) { return _mm512_scalef_ps(p, n); }
static inline float vhsum(V a) { return _mm512_reduce_add_ps(a); }
static inline float vhmax(V a) { return _mm512_reduce_max_ps(a); }
