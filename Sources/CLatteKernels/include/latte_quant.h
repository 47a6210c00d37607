#ifndef LATTE_QUANT_H
#define LATTE_QUANT_H
// Weights kept in GGUF's block-quantised formats, so decoding reads 4-6x fewer bytes than with float32
// weights: block sizes, dequantisation and kernel support here; the matrix-vector products
// (latte_quant_gemv_rowwise) are in latte_gemv.h. As llama.cpp does, the vector x is first quantised per
// 32-element block to int8 (dx = max|x|/127, xq = round(x/dx)) and the block dot products are integer
// (AVX-512 VNNI `vpdpbusd`, AVX2 `vpmaddubsw`): converting every weight to float instead made the
// kernels compute-bound at a third of the speed. Accuracy: each x element moves by at most dx/2, so
// |y - W·x| <= sum over blocks of (dx/2)·Σ|d·q| (Q4_1's offset term m·Σx uses the float sums, exactly).
// All families compute the same integers; results differ only in float summation order.
//
// Block layouts (32 weights each, little-endian, no padding, so blocks are not aligned):
//   Q8_0: f16 d, int8 q[32]              w[i] = d·q[i]                       34 bytes
//   Q4_1: f16 d, f16 m, uint8 qs[16]     w[i] = d·(qs[i] & 15) + m,          20 bytes
//                                        w[i+16] = d·(qs[i] >> 4) + m   (i < 16)
// A row of K weights is K/32 consecutive blocks; rows are `rowBytes` apart.
//
// The kernel family (LATTE_GEMM_* from latte_gemm.h) is passed explicitly so tests can run every
// variant the CPU supports; the AVX variants also need F16C.

#include <stddef.h>

/// Quantisation formats, numbered as ggml's type ids (part of the Swift bridge).
enum {
    LATTE_QUANT_Q4_1 = 3,
    LATTE_QUANT_Q8_0 = 8,
};

/// Bytes of one 32-weight block of `type`, or 0 for an unknown type.
int latte_quant_block_bytes(int type);

/// 1 when the quantised kernels of family `kind` can run on this CPU (AVX-512 also needs VNNI, the
/// AVX families F16C).
int latte_quant_kind_supported(int kind);

/// out[j·ldo + i] = W[j, i] (float32) for j in 0..<n, i in 0..<k: prefill panels and embedding rows.
/// Returns 0, or -1 for an unknown type or bad k.
int latte_quant_dequantize_rows(int type, ptrdiff_t n, ptrdiff_t k, const void *w, ptrdiff_t rowBytes,
                                float *out, ptrdiff_t ldo);

/// Quantises float32 rows into `type`'s blocks: row j of `x` (k values, rows `ldx` apart) into
/// w + j·rowBytes, as ggml's reference quantisers do (Q8_0: d = max|x|/127, q = round(x/d); Q4_1:
/// d = (max − min)/15, m = min, q = min(15, ⌊(x − m)/d + ½⌋)), scales rounded to half to nearest even.
/// Returns 0, or -1 for an unknown type or bad k.
int latte_quant_quantize_rows(int type, ptrdiff_t n, ptrdiff_t k, const float *x, ptrdiff_t ldx, void *w,
                              ptrdiff_t rowBytes);

/// A 64-byte aligned float buffer of at least `count` elements owned by the calling thread and kept
/// between calls (one slot, separate from the GEMM's scratch so a panel survives the GEMM it feeds).
/// NULL when memory is exhausted.
float *latte_quant_scratch(size_t count);

#endif
