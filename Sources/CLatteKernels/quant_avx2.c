// AVX2 quantised GEMV: `vpmaddubsw` (unsigned × signed bytes, adjacent pairs summed to int16) then
// `vpmaddwd` by ones (pairs of int16 to int32). The int16 pairs cannot saturate: at most
// 2·128·127 = 32512 for Q8_0 (|w| ≤ 128) and 2·15·127 for Q4_1.
#include "latte_quant.h"
#include "quant_internal.h"

#if defined(__x86_64__)
#define QATTR __attribute__((target("avx2,fma,f16c")))
#define QSUFFIX avx2
#define DOT_U4(q, xq) _mm256_madd_epi16(_mm256_maddubs_epi16(q, xq), _mm256_set1_epi16(1))
#define DOT_Q8(w, xq) DOT_U4(_mm256_abs_epi8(w), _mm256_sign_epi8(xq, w))
#include "quant_template.h"
#endif
