#ifndef LATTE_GEMV_H
#define LATTE_GEMV_H
// Decode-path matrix-vector product over float32 weights stored [n, k] row-major (the layout of
// checkpoints' Linear weights): y = alpha·W·x + beta·y. Decoding one token streams every weight once,
// so the product is bound by memory bandwidth, and what matters is reading W in address order: these
// kernels finish one row before starting the next. Measured on Zen 4 over SmolLM2-135M's 540 MB of
// weights, the older four-rows-at-a-time kernel (since removed: four interleaved streams 2.3 KB
// apart) reached 15 GB/s on one core, one row at a time 24-25 GB/s, as fast as a plain summing pass
// over the same memory; interleaving two rows, or software prefetch, were slower again.
// Families are numbered as LATTE_GEMM_* (latte_gemm.h) and passed explicitly so tests can run each.

#include <stddef.h>
#include <stdint.h>

/// y[j] = alpha · Σ_p w[j·ldw + p] · x[p] + beta · y[j] for j in 0..<n (beta == 0: y is not read).
void latte_gemv_rowwise(int kind, ptrdiff_t n, ptrdiff_t k, const float *w, ptrdiff_t ldw, const float *x,
                        float *y, float alpha, float beta);

/// y[j] = Σ_p W[j, p] · x[p] for j in 0..<n over weights in a block-quantised format of latte_quant.h
/// (block arithmetic and accuracy bound there). W row j starts at w + j·rowBytes and holds k/32 blocks
/// of `type`; k must be a positive multiple of 32. Returns 0, or -1 for an unknown type/kind, bad k, or
/// no memory for the quantised x (only when k > 32768). Reading one row's blocks in address order
/// before the next row took, measured as above over SmolLM2's layers, the Q8_0 output projection from
/// 8 to 26 GB/s and the Q4_1 layers from 10 to 14 GB/s, against the older kernel's four interleaved rows.
int latte_quant_gemv_rowwise(int kind, int type, ptrdiff_t n, ptrdiff_t k, const void *w, ptrdiff_t rowBytes,
                             const float *x, float *y);

/// x rounded as the quantised kernels read it (latte_quant.h): per 32-value block b, dx[b] = max|x|/127,
/// xq[i] = round(x[i]/dx[b]), sx[b] = Σ x. xq holds k bytes, dx and sx k/32 floats. Returns 0, or -1
/// when k is not a positive multiple of 32. Lets a product split over threads round x once.
int latte_quant_prepare_x(ptrdiff_t k, const float *x, int8_t *xq, float *dx, float *sx);

/// latte_quant_gemv_rowwise over an x already prepared by latte_quant_prepare_x.
int latte_quant_gemv_rowwise_prepared(int kind, int type, ptrdiff_t n, ptrdiff_t k, const void *w,
                                      ptrdiff_t rowBytes, const int8_t *xq, const float *dx, const float *sx,
                                      float *y);

#endif
