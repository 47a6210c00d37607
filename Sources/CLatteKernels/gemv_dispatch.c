// The portable float32 GEMV and the family dispatch of latte_gemv_rowwise.
#include "gemv_internal.h"
#include "latte_gemm.h"
#include "latte_gemv.h"

// Eight partial sums the compiler can keep in vector registers (SSE2 / NEON), one row at a time.
void latte_gemv_rowwise_generic(LATTE_GEMV_ARGS) {
    for (ptrdiff_t j = 0; j < n; j++) {
        const float *row = w + j * ldw;
        float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
        ptrdiff_t p = 0;
        for (; p + 8 <= k; p += 8)
            for (int i = 0; i < 8; i++) acc[i] += row[p + i] * x[p + i];
        float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; p < k; p++) s += row[p] * x[p];
        y[j] = alpha * s + (beta != 0 ? beta * y[j] : 0.0f);
    }
}

void latte_gemv_rowwise(int kind, ptrdiff_t n, ptrdiff_t k, const float *w, ptrdiff_t ldw, const float *x,
                        float *y, float alpha, float beta) {
#if defined(__x86_64__)
    if (kind == LATTE_GEMM_AVX512) { latte_gemv_rowwise_avx512(n, k, w, ldw, x, y, alpha, beta); return; }
    if (kind == LATTE_GEMM_AVX2) { latte_gemv_rowwise_avx2(n, k, w, ldw, x, y, alpha, beta); return; }
#endif
    latte_gemv_rowwise_generic(n, k, w, ldw, x, y, alpha, beta);
}
