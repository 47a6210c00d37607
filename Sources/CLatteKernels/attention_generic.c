// Attention micro-kernels in portable C: the fallback on CPUs without AVX2+FMA and on arm64.
#include "vecmath_simd_generic.h"
#include "attention_template.h"
