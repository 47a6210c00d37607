// Attention micro-kernels compiled for AVX2 (selected at run time by vecmath_dispatch.c).
#if defined(__x86_64__)
#include "vecmath_simd_avx2.h"
#include "attention_template.h"
#pragma clang attribute pop
#endif
