// AVX-512 VNNI row-at-a-time quantised GEMV (gemv_quant_template.h): `vpdpbusd` on 256-bit vectors
// (a block is 32 bytes; Zen 4 runs 512-bit integer ops at half rate, so wider gains nothing).
#include "gemv_quant_internal.h"

#if defined(__x86_64__)
#define RATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c")))
#define RSUFFIX avx512
// Signed weights: |w| as the unsigned operand, x with w's sign (x where w is 0 does not matter).
#define RDOT_Q8(w, xq) _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), _mm256_sign_epi8(xq, w))
#define RDOT_U4(q, xq) _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, xq)
#include "gemv_quant_template.h"
#endif
