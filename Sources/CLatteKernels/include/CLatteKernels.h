// Umbrella header of the C micro-kernels. Each kernel family has its own header.
#ifndef CLATTEKERNELS_H
#define CLATTEKERNELS_H
#include "latte_cpu.h"
#include "latte_gemm.h"
#include "latte_vecmath.h"
#include "latte_attention.h"
#include "latte_optimizer.h"
#include "latte_quant.h"
#include "latte_gemv.h"
#include "latte_conv.h"
#include "latte_float64.h"
#endif
