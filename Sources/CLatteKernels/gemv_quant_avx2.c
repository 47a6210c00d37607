// AVX2 row-at-a-time quantised GEMV (gemv_quant_template.h): `vpmaddubsw` then `vpmaddwd` by ones; the
// int16 pair sums cannot saturate (at most 2·128·127 for Q8_0, 2·15·127 for Q4_1).
#include "gemv_quant_internal.h"

#if defined(__x86_64__)
#define RATTR __attribute__((target("avx2,fma,f16c")))
#define RSUFFIX avx2
#define RDOT_U4(q, xq) _mm256_madd_epi16(_mm256_maddubs_epi16(q, xq), _mm256_set1_epi16(1))
#define RDOT_Q8(w, xq) RDOT_U4(_mm256_abs_epi8(w), _mm256_sign_epi8(xq, w))
#include "gemv_quant_template.h"
#endif
