// Entry points of the row-at-a-time quantised GEMV: x rounded to int8 blocks (once per call, or once
// per product when the caller splits rows over threads), then the family's rows.
#include "gemv_quant_internal.h"
#include "latte_gemm.h"
#include "latte_gemv.h"
#include "latte_quant.h"

int latte_quant_prepare_x(ptrdiff_t k, const float *x, int8_t *xq, float *dx, float *sx) {
    if (k <= 0 || k % QK != 0) return -1;
    latte_quantize_x(k, x, xq, dx, sx);
    return 0;
}

int latte_quant_gemv_rowwise_prepared(int kind, int type, ptrdiff_t n, ptrdiff_t k, const void *w,
                                      ptrdiff_t rowBytes, const int8_t *xq, const float *dx, const float *sx,
                                      float *y) {
    if (k <= 0 || k % QK != 0 || latte_quant_block_bytes(type) == 0) return -1;
    if (!latte_quant_kind_supported(kind)) return -1;
    if (n <= 0) return 0;
    latte_qx qx = {xq, dx, sx};
    const uint8_t *wb = w;
    int q8 = type == LATTE_QUANT_Q8_0;
#if defined(__x86_64__)
    if (kind == LATTE_GEMM_AVX512) {
        if (q8) latte_qgemv_rowwise_q8_0_avx512(n, k, wb, rowBytes, qx, y);
        else latte_qgemv_rowwise_q4_1_avx512(n, k, wb, rowBytes, qx, y);
        return 0;
    }
    if (kind == LATTE_GEMM_AVX2) {
        if (q8) latte_qgemv_rowwise_q8_0_avx2(n, k, wb, rowBytes, qx, y);
        else latte_qgemv_rowwise_q4_1_avx2(n, k, wb, rowBytes, qx, y);
        return 0;
    }
#endif
    // The portable kernels already finish each row before the next.
    if (q8) latte_qgemv_q8_0_generic(n, k, wb, rowBytes, qx, y);
    else latte_qgemv_q4_1_generic(n, k, wb, rowBytes, qx, y);
    return 0;
}

int latte_quant_gemv_rowwise(int kind, int type, ptrdiff_t n, ptrdiff_t k, const void *w, ptrdiff_t rowBytes,
                             const float *x, float *y) {
    if (k <= 0 || k % QK != 0 || latte_quant_block_bytes(type) == 0) return -1;
    if (!latte_quant_kind_supported(kind)) return -1;
    if (n <= 0) return 0;
    latte_qx_storage storage;
    latte_qx qx;
    if (latte_qx_prepare(&storage, k, x, &qx) != 0) return -1;
    int rc = latte_quant_gemv_rowwise_prepared(kind, type, n, k, w, rowBytes, qx.xq, qx.dx, qx.sx, y);
    latte_qx_release(&storage);
    return rc;
}
