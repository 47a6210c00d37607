// Run-time selection of the vector-math and attention kernel variant, and the public entry
// points, which forward through the selected table.
#include <math.h>
#include "latte_cpu.h"
#include "latte_vecmath.h"
#include "latte_attention.h"
#include "vecmath_table.h"

int latte_vm_variant_supported(int variant) {
    unsigned f = latte_cpu_features();
    switch (variant) {
    case LATTE_VM_GENERIC: return 1;
#if defined(__x86_64__)
    case LATTE_VM_AVX2: return (f & LATTE_CPU_AVX2) && (f & LATTE_CPU_FMA);
    case LATTE_VM_AVX512: {
        unsigned need = LATTE_CPU_AVX512F | LATTE_CPU_AVX512BW | LATTE_CPU_AVX512DQ | LATTE_CPU_AVX512VL | LATTE_CPU_FMA;
        return (f & need) == need;
    }
#endif
    default: (void)f; return 0;
    }
}

static const latte_vm_table *table_for(int variant) {
    switch (variant) {
#if defined(__x86_64__)
    case LATTE_VM_AVX2: return &latte_vm_table_avx2;
    case LATTE_VM_AVX512: return &latte_vm_table_avx512;
#endif
    default: return &latte_vm_table_generic;
    }
}

static int best_variant(void) {
    if (latte_vm_variant_supported(LATTE_VM_AVX512)) return LATTE_VM_AVX512;
    if (latte_vm_variant_supported(LATTE_VM_AVX2)) return LATTE_VM_AVX2;
    return LATTE_VM_GENERIC;
}

// Benign race on first use: every thread computes the same choice.
static volatile int current_variant = -1;
static const latte_vm_table *volatile current_table = 0;

static inline const latte_vm_table *T(void) {
    const latte_vm_table *t = current_table;
    if (!t) {
        int v = best_variant();
        current_variant = v;
        t = table_for(v);
        current_table = t;
    }
    return t;
}

int latte_vm_variant(void) {
    (void)T();
    return current_variant;
}

int latte_vm_set_variant(int variant) {
    if (!latte_vm_variant_supported(variant)) return 0;
    current_variant = variant;
    current_table = table_for(variant);
    return 1;
}

const char *latte_vm_variant_name(int variant) {
    switch (variant) {
    case LATTE_VM_AVX2: return "avx2";
    case LATTE_VM_AVX512: return "avx512";
    default: return "generic";
    }
}

void latte_vm_exp(const float *x, float *y, long n) { T()->exp(x, y, n); }
void latte_vm_log(const float *x, float *y, long n) { T()->log(x, y, n); }
void latte_vm_tanh(const float *x, float *y, long n) { T()->tanh(x, y, n); }
void latte_vm_sigmoid(const float *x, float *y, long n) { T()->sigmoid(x, y, n); }
void latte_vm_silu(const float *x, float *y, long n) { T()->silu(x, y, n); }
void latte_vm_gelu_tanh(const float *x, float *y, long n) { T()->gelu_tanh(x, y, n); }
void latte_vm_gelu_erf(const float *x, float *y, long n) { T()->gelu_erf(x, y, n); }
void latte_vm_silu_backward(const float *x, const float *dy, float *dx, long n) { T()->silu_backward(x, dy, dx, n); }
void latte_vm_gelu_tanh_backward(const float *x, const float *dy, float *dx, long n) {
    T()->gelu_tanh_backward(x, dy, dx, n);
}
void latte_vm_gelu_erf_backward(const float *x, const float *dy, float *dx, long n) {
    T()->gelu_erf_backward(x, dy, dx, n);
}
void latte_vm_add(const float *a, const float *b, float *y, long n) { T()->add(a, b, y, n); }
void latte_vm_sub(const float *a, const float *b, float *y, long n) { T()->sub(a, b, y, n); }
void latte_vm_mul(const float *a, const float *b, float *y, long n) { T()->mul(a, b, y, n); }
void latte_vm_axpy(float a, const float *x, float *y, long n) { T()->axpy(a, x, y, n); }
void latte_vm_scale(float a, const float *x, float *y, long n) { T()->scale(a, x, y, n); }
float latte_vm_sum(const float *x, long n) { return T()->sum(x, n); }
float latte_vm_max(const float *x, long n) { return T()->max(x, n); }
float latte_vm_dot(const float *x, const float *y, long n) { return T()->dot(x, y, n); }
void latte_vm_softmax_rows(const float *x, float *y, long rows, long cols) { T()->softmax_rows(x, y, rows, cols); }
void latte_vm_log_softmax_rows(const float *x, float *y, long rows, long cols) {
    T()->log_softmax_rows(x, y, rows, cols);
}
void latte_vm_softmax_rows_backward(const float *y, const float *dy, float *dx, long rows, long cols) {
    T()->softmax_rows_backward(y, dy, dx, rows, cols);
}
void latte_vm_log_softmax_rows_backward(const float *y, const float *dy, float *dx, long rows, long cols) {
    T()->log_softmax_rows_backward(y, dy, dx, rows, cols);
}
void latte_vm_rms_norm_rows(const float *x, const float *w, float *y, long rows, long cols, float eps,
                            float *inv_rms) {
    T()->rms_norm_rows(x, w, y, rows, cols, eps, inv_rms);
}
void latte_vm_rms_norm_rows_backward(const float *x, const float *w, const float *inv_rms, const float *dy,
                                     float *dx, float *dw, long rows, long cols) {
    T()->rms_norm_rows_backward(x, w, inv_rms, dy, dx, dw, rows, cols);
}
void latte_vm_layer_norm_rows(const float *x, const float *w, const float *b, float *y, long rows, long cols,
                              float eps, float *mean, float *inv_std) {
    T()->layer_norm_rows(x, w, b, y, rows, cols, eps, mean, inv_std);
}
void latte_vm_layer_norm_rows_backward(const float *x, const float *w, const float *mean, const float *inv_std,
                                       const float *dy, float *dx, float *dw, float *db, long rows, long cols) {
    T()->layer_norm_rows_backward(x, w, mean, inv_std, dy, dx, dw, db, rows, cols);
}

// MARK: - Attention

void latte_attn_pack_qt(const float *q, long qstride, long nq, long d, float scale, float *qt) {
    for (long i = 0; i < LATTE_ATTN_QBLK; ++i) {
        if (i < nq) {
            const float *qi = q + i * qstride;
            for (long c = 0; c < d; ++c) qt[c * LATTE_ATTN_QBLK + i] = scale * qi[c];
        } else {
            for (long c = 0; c < d; ++c) qt[c * LATTE_ATTN_QBLK + i] = 0.0f;
        }
    }
}

void latte_attn_mask(float *st, long nk, long k0, const long *limit) {
    for (long j = 0; j < nk; ++j)
        for (long i = 0; i < LATTE_ATTN_QBLK; ++i)
            if (k0 + j >= limit[i]) st[j * LATTE_ATTN_QBLK + i] = -INFINITY;
}

void latte_attn_qk(const float *qt, const float *k, long kstride, long nk, long d, float *st) {
    T()->attn_qk(qt, k, kstride, nk, d, st);
}
void latte_attn_softmax_update(float *st, long nk, float *m, float *l, float *corr) {
    T()->attn_softmax_update(st, nk, m, l, corr);
}
void latte_attn_pv(const float *pt, long nk, long nq, const float *v, long vstride, long d, float *o,
                   const float *corr) {
    T()->attn_pv(pt, nk, nq, v, vstride, d, o, corr);
}
void latte_attn_dots(const float *q, const float *k, long kstride, long nk, long d, float *s) {
    T()->attn_dots(q, k, kstride, nk, d, s);
}
void latte_attn_pv_row(const float *p, long nk, const float *v, long vstride, long d, float *o) {
    T()->attn_pv_row(p, nk, v, vstride, d, o);
}
