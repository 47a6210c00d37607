// Direct 3×3 convolution in portable C: the fallback on CPUs without AVX2+FMA and on arm64.
#include "vecmath_simd_generic.h"
#include "conv3x3_template.h"
