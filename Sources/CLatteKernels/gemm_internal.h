// Private declarations shared by the gemm_*.c files (not part of the module's public header).
#ifndef LATTE_GEMM_INTERNAL_H
#define LATTE_GEMM_INTERNAL_H
#include <stddef.h>

#define LATTE_AVX512_MR 8
#define LATTE_AVX512_NR 48
#define LATTE_AVX2_MR 6
#define LATTE_AVX2_NR 16
#define LATTE_GENERIC_MR 4
#define LATTE_GENERIC_NR 16

// Packing of an operand whose panel index runs along its contiguous axis ("n-contiguous": copy rows)
// or across it ("k-contiguous": a transpose). width is the panel width (MR or NR).
void latte_pack_ncontig_generic(ptrdiff_t width, const float *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t cols,
                                float *dst);
void latte_pack_kcontig_generic(ptrdiff_t width, const float *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t rows,
                                float *dst);
#if defined(__x86_64__)
void latte_pack_ncontig_avx2(ptrdiff_t width, const float *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t cols,
                             float *dst);
void latte_pack_kcontig_avx2(ptrdiff_t width, const float *src, ptrdiff_t ld, ptrdiff_t kc, ptrdiff_t rows,
                             float *dst);
void latte_gemm_macro_avx512(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
        ptrdiff_t panelStride, const float *bp, float *c, ptrdiff_t ldc, float alpha, float beta);
void latte_gemm_macro_avx2(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
        ptrdiff_t panelStride, const float *bp, float *c, ptrdiff_t ldc, float alpha, float beta);
void latte_gemv_cols_avx512(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, const float *x, float *y,
                            float alpha, float beta);
void latte_gemv_cols_avx2(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, const float *x, float *y,
                          float alpha, float beta);
#endif
void latte_gemm_macro_generic(ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const float *a, ptrdiff_t rs, ptrdiff_t cs,
        ptrdiff_t panelStride, const float *bp, float *c, ptrdiff_t ldc, float alpha, float beta);
void latte_gemv_cols_generic(ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, const float *x, float *y,
                             float alpha, float beta);
#endif
