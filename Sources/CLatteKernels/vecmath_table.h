// One function-pointer table per kernel variant; vecmath_dispatch.c picks one at run time.
#ifndef LATTE_VECMATH_TABLE_H
#define LATTE_VECMATH_TABLE_H

// Attention micro-kernel argument lists, shared by the table and the variant definitions.
#define LATTE_ATTN_QK_ARGS const float *qt, const float *k, long kstride, long nk, long d, float *st
#define LATTE_ATTN_SOFTMAX_UPDATE_ARGS float *st, long nk, float *m, float *l, float *corr
#define LATTE_ATTN_PV_ARGS \
    const float *pt, long nk, long nq, const float *v, long vstride, long d, float *o, const float *corr
#define LATTE_ATTN_DOTS_ARGS const float *q, const float *k, long kstride, long nk, long d, float *s
#define LATTE_ATTN_PV_ROW_ARGS const float *p, long nk, const float *v, long vstride, long d, float *o

typedef struct {
    void (*exp)(const float *, float *, long);
    void (*log)(const float *, float *, long);
    void (*tanh)(const float *, float *, long);
    void (*sigmoid)(const float *, float *, long);
    void (*silu)(const float *, float *, long);
    void (*gelu_tanh)(const float *, float *, long);
    void (*gelu_erf)(const float *, float *, long);
    void (*silu_backward)(const float *, const float *, float *, long);
    void (*gelu_tanh_backward)(const float *, const float *, float *, long);
    void (*gelu_erf_backward)(const float *, const float *, float *, long);
    void (*add)(const float *, const float *, float *, long);
    void (*sub)(const float *, const float *, float *, long);
    void (*mul)(const float *, const float *, float *, long);
    void (*axpy)(float, const float *, float *, long);
    void (*scale)(float, const float *, float *, long);
    float (*sum)(const float *, long);
    float (*max)(const float *, long);
    float (*dot)(const float *, const float *, long);
    void (*softmax_rows)(const float *, float *, long, long);
    void (*log_softmax_rows)(const float *, float *, long, long);
    void (*softmax_rows_backward)(const float *, const float *, float *, long, long);
    void (*log_softmax_rows_backward)(const float *, const float *, float *, long, long);
    void (*rms_norm_rows)(const float *, const float *, float *, long, long, float, float *);
    void (*rms_norm_rows_backward)(const float *, const float *, const float *, const float *, float *, float *, long,
                                   long);
    void (*layer_norm_rows)(const float *, const float *, const float *, float *, long, long, float, float *,
                            float *);
    void (*layer_norm_rows_backward)(const float *, const float *, const float *, const float *, const float *,
                                     float *, float *, float *, long, long);
    void (*attn_qk)(LATTE_ATTN_QK_ARGS);
    void (*attn_softmax_update)(LATTE_ATTN_SOFTMAX_UPDATE_ARGS);
    void (*attn_pv)(LATTE_ATTN_PV_ARGS);
    void (*attn_dots)(LATTE_ATTN_DOTS_ARGS);
    void (*attn_pv_row)(LATTE_ATTN_PV_ROW_ARGS);
} latte_vm_table;

extern const latte_vm_table latte_vm_table_generic;
#if defined(__x86_64__)
extern const latte_vm_table latte_vm_table_avx2;
extern const latte_vm_table latte_vm_table_avx512;
#endif

#endif
