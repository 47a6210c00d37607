// Quantised-kernel selection, the public entry points, and the per-thread panel scratch.
#include "latte_quant.h"
#include "latte_gemm.h"
#include "latte_cpu.h"
#include "quant_internal.h"
#include <pthread.h>
#include <stdlib.h>

int latte_quant_block_bytes(int type) {
    switch (type) {
    case LATTE_QUANT_Q8_0: return Q8_0_BYTES;
    case LATTE_QUANT_Q4_1: return Q4_1_BYTES;
    default: return 0;
    }
}

int latte_quant_kind_supported(int kind) {
    if (kind == LATTE_GEMM_GENERIC) return 1;
    // The AVX kernels convert the f16 scales with F16C.
    return latte_gemm_kind_supported(kind) && (latte_cpu_features() & LATTE_CPU_F16C);
}

int latte_quant_gemv(int kind, int type, ptrdiff_t n, ptrdiff_t k, const void *w, ptrdiff_t rowBytes,
                     const float *x, float *y) {
    if (k <= 0 || k % QK != 0 || latte_quant_block_bytes(type) == 0) return -1;
    if (!latte_quant_kind_supported(kind)) return -1;
    if (n <= 0) return 0;
    const uint8_t *wb = w;
    if (type == LATTE_QUANT_Q8_0) {
#if defined(__x86_64__)
        if (kind == LATTE_GEMM_AVX512) { latte_qgemv_q8_0_avx512(n, k, wb, rowBytes, x, y); return 0; }
        if (kind == LATTE_GEMM_AVX2) { latte_qgemv_q8_0_avx2(n, k, wb, rowBytes, x, y); return 0; }
#endif
        latte_qgemv_q8_0_generic(n, k, wb, rowBytes, x, y);
        return 0;
    }
    // Q4_1: block sums of x, on the stack for the usual widths (k ≤ 32768).
    enum { STACK_BLOCKS = 1024 };
    float stackSums[STACK_BLOCKS];
    ptrdiff_t nb = k / QK;
    float *sx = nb <= STACK_BLOCKS ? stackSums : malloc((size_t)nb * sizeof(float));
    if (!sx) return -1;
    latte_quant_block_sums(k, x, sx);
#if defined(__x86_64__)
    if (kind == LATTE_GEMM_AVX512) latte_qgemv_q4_1_avx512(n, k, wb, rowBytes, x, sx, y);
    else if (kind == LATTE_GEMM_AVX2) latte_qgemv_q4_1_avx2(n, k, wb, rowBytes, x, sx, y);
    else
#endif
        latte_qgemv_q4_1_generic(n, k, wb, rowBytes, x, sx, y);
    if (sx != stackSums) free(sx);
    return 0;
}

// ---- per-thread panel scratch -----------------------------------------------------------------------

typedef struct { float *buf; size_t cap; } quant_scratch_t;

static pthread_key_t quant_scratch_key;
static pthread_once_t quant_scratch_once = PTHREAD_ONCE_INIT;

static void quant_scratch_free(void *p) {
    quant_scratch_t *s = p;
    free(s->buf);
    free(s);
}

static void quant_scratch_init(void) { pthread_key_create(&quant_scratch_key, quant_scratch_free); }

float *latte_quant_scratch(size_t count) {
    pthread_once(&quant_scratch_once, quant_scratch_init);
    quant_scratch_t *s = pthread_getspecific(quant_scratch_key);
    if (!s) {
        s = calloc(1, sizeof(quant_scratch_t));
        if (!s) return NULL;
        pthread_setspecific(quant_scratch_key, s);
    }
    if (s->cap < count) {
        size_t bytes = (count * sizeof(float) + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes);
        if (!p) return NULL;
        free(s->buf);
        s->buf = p;
        s->cap = count;
    }
    return s->buf;
}
