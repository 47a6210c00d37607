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

#if defined(__x86_64__)
#include <cpuid.h>
// AVX512_VNNI (cpuid leaf 7, ECX bit 11): not among latte_cpu_features' bits, and only these kernels
// need it. The OS's ZMM state support is already implied by LATTE_CPU_AVX512F. Cached: cpuid traps to
// the hypervisor in a VM (tens of microseconds), and this is asked on every GEMV.
static int has_avx512_vnni(void) {
    static volatile int cached = -1;  // benign race: every thread computes the same value
    int v = cached;
    if (v < 0) {
        unsigned a, b, c = 0, d;
        v = 0;
        if (__get_cpuid_max(0, 0) >= 7) {
            __cpuid_count(7, 0, a, b, c, d);
            v = (c >> 11) & 1;
        }
        cached = v;
    }
    return v;
}
#else
static int has_avx512_vnni(void) { return 0; }
#endif

int latte_quant_kind_supported(int kind) {
    if (kind == LATTE_GEMM_GENERIC) return 1;
    // The AVX kernels convert the f16 scales with F16C.
    if (!latte_gemm_kind_supported(kind) || !(latte_cpu_features() & LATTE_CPU_F16C)) return 0;
    return kind == LATTE_GEMM_AVX512 ? has_avx512_vnni() : 1;
}

int latte_qx_prepare(latte_qx_storage *storage, ptrdiff_t k, const float *x, latte_qx *out) {
    ptrdiff_t nb = k / QK;
    int8_t *xq = storage->q;
    float *dx = storage->d, *sx = storage->s;
    storage->heap = NULL;
    if (k > LATTE_QX_STACK_K) {
        storage->heap = malloc((size_t)k + 2 * (size_t)nb * sizeof(float));
        if (!storage->heap) return -1;
        dx = storage->heap;
        sx = dx + nb;
        xq = (int8_t *)(sx + nb);
    }
    latte_quantize_x(k, x, xq, dx, sx);
    *out = (latte_qx){xq, dx, sx};
    return 0;
}

void latte_qx_release(latte_qx_storage *storage) {
    free(storage->heap);
    storage->heap = NULL;
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
