// Attention micro-kernels compiled for AVX512 (selected at run time by vecmath_dispatch.c).
#if defined(__x86_64__)
#include "vecmath_simd_avx512.h"
#include "attention_template.h"
#pragma clang attribute pop
#endif
