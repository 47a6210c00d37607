// AVX-512 float32 GEMV, one row at a time (see latte_gemv.h for why). Only these functions carry the
// AVX-512 target attribute; they run only when the Swift side chose the AVX-512 family.
#include "gemv_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

// Four accumulators (64 floats per step) keep four FMA chains in flight, more than enough to hide the
// FMA latency while the loads wait on memory; one horizontal reduction per row.
AVX512 void latte_gemv_rowwise_avx512(LATTE_GEMV_ARGS) {
    ptrdiff_t tail = k & 15;
    __mmask16 tailMask = (__mmask16)((1u << tail) - 1);
    for (ptrdiff_t j = 0; j < n; j++) {
        const float *row = w + j * ldw;
        __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
        ptrdiff_t p = 0;
        for (; p + 64 <= k; p += 64) {
            a0 = _mm512_fmadd_ps(_mm512_loadu_ps(row + p), _mm512_loadu_ps(x + p), a0);
            a1 = _mm512_fmadd_ps(_mm512_loadu_ps(row + p + 16), _mm512_loadu_ps(x + p + 16), a1);
            a2 = _mm512_fmadd_ps(_mm512_loadu_ps(row + p + 32), _mm512_loadu_ps(x + p + 32), a2);
            a3 = _mm512_fmadd_ps(_mm512_loadu_ps(row + p + 48), _mm512_loadu_ps(x + p + 48), a3);
        }
        for (; p + 16 <= k; p += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(row + p), _mm512_loadu_ps(x + p), a0);
        if (tail) {
            a1 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tailMask, row + p), _mm512_maskz_loadu_ps(tailMask, x + p), a1);
        }
        float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
        y[j] = alpha * s + (beta != 0 ? beta * y[j] : 0.0f);
    }
}
#endif
