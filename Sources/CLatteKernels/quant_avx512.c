// AVX-512 VNNI quantised GEMV: `vpdpbusd` multiplies 32 unsigned by 32 signed bytes and adds groups of
// four into eight int32 lanes in one instruction. The vectors are 256 bits (AVX512VL encoding): a
// block is 32 bytes, and Zen 4 runs 512-bit integer ops at half rate, so wider gains nothing here.
#include "latte_quant.h"
#include "quant_internal.h"

#if defined(__x86_64__)
#define QATTR __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,avx2,fma,f16c")))
#define QSUFFIX avx512
// Signed weights: |w| as the unsigned operand, x with w's sign (x where w is 0 does not matter).
#define DOT_Q8(w, xq) _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_abs_epi8(w), _mm256_sign_epi8(xq, w))
#define DOT_U4(q, xq) _mm256_dpbusd_epi32(_mm256_setzero_si256(), q, xq)
#include "quant_template.h"
#endif
