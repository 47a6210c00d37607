// Direct 3×3 convolution compiled for AVX512 (selected at run time by conv3x3_dispatch.c).
#if defined(__x86_64__)
#include "vecmath_simd_avx512.h"
#include "conv3x3_template.h"
#pragma clang attribute pop
#endif
