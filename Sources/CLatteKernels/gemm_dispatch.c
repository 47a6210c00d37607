// Kernel-family selection, the public entry points that route to a family, and per-thread scratch.
#include "latte_gemm.h"
#include "latte_cpu.h"
#include "gemm_internal.h"
#include <pthread.h>
#include <stdlib.h>

int latte_gemm_kind_supported(int kind) {
    unsigned f = latte_cpu_features();
    switch (kind) {
    case LATTE_GEMM_GENERIC: return 1;
#if defined(__x86_64__)
    case LATTE_GEMM_AVX2: return (f & LATTE_CPU_AVX2) && (f & LATTE_CPU_FMA);
    case LATTE_GEMM_AVX512:
        return (f & LATTE_CPU_AVX512F) && (f & LATTE_CPU_AVX512BW) && (f & LATTE_CPU_AVX512DQ) &&
               (f & LATTE_CPU_AVX512VL) && (f & LATTE_CPU_FMA) && (f & LATTE_CPU_AVX2);
#endif
    default: (void)f; return 0;
    }
}

int latte_gemm_best_kind(void) {
    if (latte_gemm_kind_supported(LATTE_GEMM_AVX512)) return LATTE_GEMM_AVX512;
    if (latte_gemm_kind_supported(LATTE_GEMM_AVX2)) return LATTE_GEMM_AVX2;
    return LATTE_GEMM_GENERIC;
}

int latte_gemm_mr(int kind) {
    return kind == LATTE_GEMM_AVX512 ? LATTE_AVX512_MR : kind == LATTE_GEMM_AVX2 ? LATTE_AVX2_MR : LATTE_GENERIC_MR;
}

int latte_gemm_nr(int kind) {
    return kind == LATTE_GEMM_AVX512 ? LATTE_AVX512_NR : kind == LATTE_GEMM_AVX2 ? LATTE_AVX2_NR : LATTE_GENERIC_NR;
}

void latte_gemm_pack_a(int kind, int transA, const float *a, ptrdiff_t lda, ptrdiff_t mc, ptrdiff_t kc,
                       float *ap) {
    ptrdiff_t mr = latte_gemm_mr(kind);
#if defined(__x86_64__)
    if (kind != LATTE_GEMM_GENERIC) {
        if (transA) latte_pack_ncontig_avx2(mr, a, lda, kc, mc, ap);
        else latte_pack_kcontig_avx2(mr, a, lda, kc, mc, ap);
        return;
    }
#endif
    if (transA) latte_pack_ncontig_generic(mr, a, lda, kc, mc, ap);
    else latte_pack_kcontig_generic(mr, a, lda, kc, mc, ap);
}

void latte_gemm_pack_b(int kind, int transB, const float *b, ptrdiff_t ldb, ptrdiff_t kc, ptrdiff_t nc,
                       float *bp) {
    ptrdiff_t nr = latte_gemm_nr(kind);
#if defined(__x86_64__)
    if (kind != LATTE_GEMM_GENERIC) {
        if (transB) latte_pack_kcontig_avx2(nr, b, ldb, kc, nc, bp);
        else latte_pack_ncontig_avx2(nr, b, ldb, kc, nc, bp);
        return;
    }
#endif
    if (transB) latte_pack_kcontig_generic(nr, b, ldb, kc, nc, bp);
    else latte_pack_ncontig_generic(nr, b, ldb, kc, nc, bp);
}

void latte_gemm_macro(int kind, ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const float *a, ptrdiff_t rs,
                      ptrdiff_t cs, ptrdiff_t panelStride, const float *bp, float *c, ptrdiff_t ldc, float alpha,
                      float beta) {
#if defined(__x86_64__)
    if (kind == LATTE_GEMM_AVX512) {
        latte_gemm_macro_avx512(mc, nc, kc, a, rs, cs, panelStride, bp, c, ldc, alpha, beta);
        return;
    }
    if (kind == LATTE_GEMM_AVX2) {
        latte_gemm_macro_avx2(mc, nc, kc, a, rs, cs, panelStride, bp, c, ldc, alpha, beta);
        return;
    }
#endif
    latte_gemm_macro_generic(mc, nc, kc, a, rs, cs, panelStride, bp, c, ldc, alpha, beta);
}

void latte_gemv_cols(int kind, ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, const float *x, float *y,
                     float alpha, float beta) {
#if defined(__x86_64__)
    if (kind == LATTE_GEMM_AVX512) { latte_gemv_cols_avx512(k, n, b, ldb, x, y, alpha, beta); return; }
    if (kind == LATTE_GEMM_AVX2) { latte_gemv_cols_avx2(k, n, b, ldb, x, y, alpha, beta); return; }
#endif
    latte_gemv_cols_generic(k, n, b, ldb, x, y, alpha, beta);
}

// ---- per-thread scratch -----------------------------------------------------------------------------

enum { SLOTS = 4 };
typedef struct { float *buf[SLOTS]; size_t cap[SLOTS]; } scratch_t;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_free(void *p) {
    scratch_t *s = p;
    for (int i = 0; i < SLOTS; i++) free(s->buf[i]);
    free(s);
}

static void scratch_init(void) { pthread_key_create(&scratch_key, scratch_free); }

float *latte_gemm_scratch(int slot, size_t count) {
    if (slot < 0 || slot >= SLOTS) return NULL;
    pthread_once(&scratch_once, scratch_init);
    scratch_t *s = pthread_getspecific(scratch_key);
    if (!s) {
        s = calloc(1, sizeof(scratch_t));
        if (!s) return NULL;
        pthread_setspecific(scratch_key, s);
    }
    if (s->cap[slot] < count) {
        // Grow geometrically so a sequence of slightly larger problems doesn't reallocate each time.
        size_t cap = count + count / 2;
        size_t bytes = (cap * sizeof(float) + 63) & ~(size_t)63;
        float *p = aligned_alloc(64, bytes);
        if (!p) return NULL;
        free(s->buf[slot]);
        s->buf[slot] = p;
        s->cap[slot] = cap;
    }
    return s->buf[slot];
}
