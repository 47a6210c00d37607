// Private declarations of the row-at-a-time quantised GEMV files (gemv_quant_*.c).
#ifndef LATTE_GEMV_QUANT_INTERNAL_H
#define LATTE_GEMV_QUANT_INTERNAL_H
#include "quant_internal.h"

#if defined(__x86_64__)
void latte_qgemv_rowwise_q8_0_avx2(QGEMV_ARGS);
void latte_qgemv_rowwise_q4_1_avx2(QGEMV_ARGS);
void latte_qgemv_rowwise_q8_0_avx512(QGEMV_ARGS);
void latte_qgemv_rowwise_q4_1_avx512(QGEMV_ARGS);
#endif
#endif
