#ifndef LATTE_VECMATH_H
#define LATTE_VECMATH_H

// Vector-math kernels. Each call goes through a table of AVX-512, AVX2+FMA or portable-C
// implementations chosen once from latte_cpu_features() (see latte_vm_set_variant).
// All element-wise kernels allow the output to alias an input exactly (y == x); n may be 0.
// Accuracy (float32, against double precision): exp, log, tanh, sigmoid within a few ulp;
// gelu_erf within 1e-6 absolute. Edges follow IEEE: exp(-inf) = 0, overflow → inf, NaN in →
// NaN out, tanh(±inf) = ±1, silu/gelu(−inf) = 0.

enum {
    LATTE_VM_GENERIC = 0,  // portable C (any CPU)
    LATTE_VM_AVX2 = 1,     // AVX2 + FMA
    LATTE_VM_AVX512 = 2,   // AVX-512 F/BW/DQ/VL + FMA
};

/// The variant in use (the best one this CPU supports unless overridden).
int latte_vm_variant(void);
/// 1 when this CPU (and this build's target architecture) can run the variant.
int latte_vm_variant_supported(int variant);
/// Switches every kernel to `variant`; returns 0 (and changes nothing) when unsupported.
/// Meant for tests and benchmarks; not thread-safe against kernels running concurrently.
int latte_vm_set_variant(int variant);
/// "generic", "avx2" or "avx512".
const char *latte_vm_variant_name(int variant);

// y = f(x)
void latte_vm_exp(const float *x, float *y, long n);
void latte_vm_log(const float *x, float *y, long n);
void latte_vm_tanh(const float *x, float *y, long n);
void latte_vm_sigmoid(const float *x, float *y, long n);
void latte_vm_silu(const float *x, float *y, long n);
void latte_vm_gelu_tanh(const float *x, float *y, long n);
void latte_vm_gelu_erf(const float *x, float *y, long n);

// dx = dy · f'(x); dx may alias x or dy.
void latte_vm_silu_backward(const float *x, const float *dy, float *dx, long n);
void latte_vm_gelu_tanh_backward(const float *x, const float *dy, float *dx, long n);
void latte_vm_gelu_erf_backward(const float *x, const float *dy, float *dx, long n);

// y = a ∘ b; y may alias a or b.
void latte_vm_add(const float *a, const float *b, float *y, long n);
void latte_vm_sub(const float *a, const float *b, float *y, long n);
void latte_vm_mul(const float *a, const float *b, float *y, long n);
/// y += a·x
void latte_vm_axpy(float a, const float *x, float *y, long n);
/// y = a·x
void latte_vm_scale(float a, const float *x, float *y, long n);
float latte_vm_sum(const float *x, long n);
/// Largest value; NaN if any value is NaN; −inf when n == 0.
float latte_vm_max(const float *x, long n);
float latte_vm_dot(const float *x, const float *y, long n);

// Row kernels over `rows` contiguous rows of `cols` values.
/// Softmax; a row of all −inf gives zeros.
void latte_vm_softmax_rows(const float *x, float *y, long rows, long cols);
/// Log-softmax; a row of all −inf gives −inf.
void latte_vm_log_softmax_rows(const float *x, float *y, long rows, long cols);
/// dx = y ⊙ (dy − Σ dy·y), y the softmax output.
void latte_vm_softmax_rows_backward(const float *y, const float *dy, float *dx, long rows, long cols);
/// dx = dy − e^y · Σ dy, y the log-softmax output.
void latte_vm_log_softmax_rows_backward(const float *y, const float *dy, float *dx, long rows, long cols);
/// y = x / √(mean(x²) + eps) · w (w may be NULL); inv_rms[r] (if not NULL) receives 1/√(mean(x²)+eps).
void latte_vm_rms_norm_rows(const float *x, const float *w, float *y, long rows, long cols, float eps,
                            float *inv_rms);
/// dx overwritten; dw (if not NULL) accumulated: dw += Σ_rows dy · x̂.
void latte_vm_rms_norm_rows_backward(const float *x, const float *w, const float *inv_rms, const float *dy,
                                     float *dx, float *dw, long rows, long cols);
/// y = (x − μ)/√(var + eps) · w + b (w, b may be NULL); mean / inv_std per row if not NULL.
void latte_vm_layer_norm_rows(const float *x, const float *w, const float *b, float *y, long rows, long cols,
                              float eps, float *mean, float *inv_std);
/// dx overwritten; dw and db (if not NULL) accumulated.
void latte_vm_layer_norm_rows_backward(const float *x, const float *w, const float *mean, const float *inv_std,
                                       const float *dy, float *dx, float *dw, float *db, long rows, long cols);

#endif
