// Private declarations of the gemv_*.c files (latte_gemv.h is the public entry point).
#ifndef LATTE_GEMV_INTERNAL_H
#define LATTE_GEMV_INTERNAL_H
#include <stddef.h>

#define LATTE_GEMV_ARGS                                                                                  \
    ptrdiff_t n, ptrdiff_t k, const float *w, ptrdiff_t ldw, const float *x, float *y, float alpha, float beta

#if defined(__x86_64__)
void latte_gemv_rowwise_avx512(LATTE_GEMV_ARGS);
void latte_gemv_rowwise_avx2(LATTE_GEMV_ARGS);
#endif
void latte_gemv_rowwise_generic(LATTE_GEMV_ARGS);

#endif
