// Vector-math kernels written once over the lane primitives of vecmath_simd_*.h and compiled
// three times (vecmath_avx512.c, vecmath_avx2.c, vecmath_generic.c). Every loop handles a
// ragged tail with partial loads/stores, so no kernel reads or writes past n.
// The lane functions (exp, log, tanh, …) are in vecmath_lanes.h.
#include "vecmath_lanes.h"

#define VM(name) VM_CAT(latte_vm_##name, VM_SUFFIX)

// MARK: - Element-wise kernels

#define VM_UNARY(name, fn)                                                              \
    void VM(name)(const float *x, float *y, long n) {                                   \
        long i = 0;                                                                     \
        for (; i + 2 * VW <= n; i += 2 * VW) {                                          \
            V a = fn(vload(x + i)), b = fn(vload(x + i + VW));                          \
            vstore(y + i, a);                                                           \
            vstore(y + i + VW, b);                                                      \
        }                                                                               \
        for (; i + VW <= n; i += VW) vstore(y + i, fn(vload(x + i)));                   \
        if (i < n) vstore_part(y + i, fn(vload_part(x + i, n - i, 0.0f)), n - i);       \
    }

VM_UNARY(exp, v_exp)
VM_UNARY(log, v_log)
VM_UNARY(tanh, v_tanh)
VM_UNARY(sigmoid, v_sigmoid)
VM_UNARY(silu, v_silu)
VM_UNARY(gelu_tanh, v_gelu_tanh)
VM_UNARY(gelu_erf, v_gelu_erf)

// dx = dy · f'(x)
#define VM_GRAD(name, fn)                                                                    \
    void VM(name)(const float *x, const float *dy, float *dx, long n) {                      \
        long i = 0;                                                                          \
        for (; i + VW <= n; i += VW) vstore(dx + i, vmul(vload(dy + i), fn(vload(x + i)))); \
        if (i < n) {                                                                         \
            long r = n - i;                                                                  \
            vstore_part(dx + i, vmul(vload_part(dy + i, r, 0.0f), fn(vload_part(x + i, r, 0.0f))), r); \
        }                                                                                    \
    }

VM_GRAD(silu_backward, v_silu_grad)
VM_GRAD(gelu_tanh_backward, v_gelu_tanh_grad)
VM_GRAD(gelu_erf_backward, v_gelu_erf_grad)

#define VM_BINARY(name, op)                                                              \
    void VM(name)(const float *a, const float *b, float *y, long n) {                    \
        long i = 0;                                                                      \
        for (; i + VW <= n; i += VW) vstore(y + i, op(vload(a + i), vload(b + i)));      \
        if (i < n) vstore_part(y + i, op(vload_part(a + i, n - i, 0.0f), vload_part(b + i, n - i, 0.0f)), n - i); \
    }

VM_BINARY(add, vadd)
VM_BINARY(sub, vsub)
VM_BINARY(mul, vmul)

void VM(axpy)(float a, const float *x, float *y, long n) {
    V va = vset1(a);
    long i = 0;
    for (; i + VW <= n; i += VW) vstore(y + i, vfma(va, vload(x + i), vload(y + i)));
    if (i < n) vstore_part(y + i, vfma(va, vload_part(x + i, n - i, 0.0f), vload_part(y + i, n - i, 0.0f)), n - i);
}

void VM(scale)(float a, const float *x, float *y, long n) {
    V va = vset1(a);
    long i = 0;
    for (; i + VW <= n; i += VW) vstore(y + i, vmul(va, vload(x + i)));
    if (i < n) vstore_part(y + i, vmul(va, vload_part(x + i, n - i, 0.0f)), n - i);
}

// MARK: - Reductions (four accumulators hide the add latency)

float VM(sum)(const float *x, long n) {
    V s0 = vzero(), s1 = vzero(), s2 = vzero(), s3 = vzero();
    long i = 0;
    for (; i + 4 * VW <= n; i += 4 * VW) {
        s0 = vadd(s0, vload(x + i));
        s1 = vadd(s1, vload(x + i + VW));
        s2 = vadd(s2, vload(x + i + 2 * VW));
        s3 = vadd(s3, vload(x + i + 3 * VW));
    }
    for (; i + VW <= n; i += VW) s0 = vadd(s0, vload(x + i));
    if (i < n) s1 = vadd(s1, vload_part(x + i, n - i, 0.0f));
    return vhsum(vadd(vadd(s0, s1), vadd(s2, s3)));
}

float VM(dot)(const float *x, const float *y, long n) {
    V s0 = vzero(), s1 = vzero(), s2 = vzero(), s3 = vzero();
    long i = 0;
    for (; i + 4 * VW <= n; i += 4 * VW) {
        s0 = vfma(vload(x + i), vload(y + i), s0);
        s1 = vfma(vload(x + i + VW), vload(y + i + VW), s1);
        s2 = vfma(vload(x + i + 2 * VW), vload(y + i + 2 * VW), s2);
        s3 = vfma(vload(x + i + 3 * VW), vload(y + i + 3 * VW), s3);
    }
    for (; i + VW <= n; i += VW) s0 = vfma(vload(x + i), vload(y + i), s0);
    if (i < n) s1 = vfma(vload_part(x + i, n - i, 0.0f), vload_part(y + i, n - i, 0.0f), s1);
    return vhsum(vadd(vadd(s0, s1), vadd(s2, s3)));
}

// Maximum; a NaN anywhere gives NaN (checked separately because max instructions drop NaNs
// depending on operand order). Empty input gives −inf.
float VM(max)(const float *x, long n) {
    V m0 = vset1(-INFINITY), m1 = vset1(-INFINITY), nan = vzero();
    long i = 0;
    for (; i + 2 * VW <= n; i += 2 * VW) {
        V a = vload(x + i), b = vload(x + i + VW);
        m0 = vmax(m0, a);
        m1 = vmax(m1, b);
        nan = vadd(nan, vsub(a, a));
        nan = vadd(nan, vsub(b, b));
    }
    for (; i + VW <= n; i += VW) {
        V a = vload(x + i);
        m0 = vmax(m0, a);
        nan = vadd(nan, vsub(a, a));
    }
    if (i < n) {
        V a = vload_part(x + i, n - i, -INFINITY);
        m1 = vmax(m1, a);
        nan = vadd(nan, vsub(vload_part(x + i, n - i, 0.0f), vload_part(x + i, n - i, 0.0f)));
    }
    float m = vhmax(vmax(m0, m1));
    float bad = vhsum(nan);  // NaN iff some x was NaN or ±inf (inf − inf)
    if (bad != bad) {
        for (long j = 0; j < n; ++j) if (x[j] != x[j]) return x[j];
    }
    return m;
}

// MARK: - Row kernels

void VM(softmax_rows)(const float *x, float *y, long rows, long cols) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = VM(max)(xr, cols);
        if (m == -INFINITY) {  // every entry masked: zeros, not NaN
            for (long j = 0; j < cols; ++j) yr[j] = 0.0f;
            continue;
        }
        V vm = vset1(m), s = vzero();
        long i = 0;
        for (; i + VW <= cols; i += VW) {
            V e = v_exp(vsub(vload(xr + i), vm));
            vstore(yr + i, e);
            s = vadd(s, e);
        }
        if (i < cols) {
            V e = v_exp(vsub(vload_part(xr + i, cols - i, -INFINITY), vm));
            vstore_part(yr + i, e, cols - i);
            s = vadd(s, e);
        }
        VM(scale)(1.0f / vhsum(s), yr, yr, cols);
    }
}

// y = x − max − log Σ e^{x − max}; a row of all −inf gives −inf (the log of softmax's zeros).
void VM(log_softmax_rows)(const float *x, float *y, long rows, long cols) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float m = VM(max)(xr, cols);
        if (m == -INFINITY) {
            for (long j = 0; j < cols; ++j) yr[j] = -INFINITY;
            continue;
        }
        V vm = vset1(m), s = vzero();
        long i = 0;
        for (; i + VW <= cols; i += VW) s = vadd(s, v_exp(vsub(vload(xr + i), vm)));
        if (i < cols) s = vadd(s, v_exp(vsub(vload_part(xr + i, cols - i, -INFINITY), vm)));
        float shift = m + logf(vhsum(s));
        V vs = vset1(shift);
        for (i = 0; i + VW <= cols; i += VW) vstore(yr + i, vsub(vload(xr + i), vs));
        if (i < cols) vstore_part(yr + i, vsub(vload_part(xr + i, cols - i, 0.0f), vs), cols - i);
    }
}

// dx = y ⊙ (dy − Σ dy·y); dx may alias y or dy.
void VM(softmax_rows_backward)(const float *y, const float *dy, float *dx, long rows, long cols) {
    for (long r = 0; r < rows; ++r) {
        const float *yr = y + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        V c = vset1(VM(dot)(yr, gr, cols));
        long i = 0;
        for (; i + VW <= cols; i += VW) vstore(dr + i, vmul(vload(yr + i), vsub(vload(gr + i), c)));
        if (i < cols) {
            long k = cols - i;
            vstore_part(dr + i, vmul(vload_part(yr + i, k, 0.0f), vsub(vload_part(gr + i, k, 0.0f), c)), k);
        }
    }
}

// dx = dy − e^y · Σ dy (y is the log-softmax output); dx may alias y or dy.
void VM(log_softmax_rows_backward)(const float *y, const float *dy, float *dx, long rows, long cols) {
    for (long r = 0; r < rows; ++r) {
        const float *yr = y + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        V c = vset1(VM(sum)(gr, cols));
        long i = 0;
        for (; i + VW <= cols; i += VW) vstore(dr + i, vfnma(v_exp(vload(yr + i)), c, vload(gr + i)));
        if (i < cols) {
            long k = cols - i;
            V e = v_exp(vload_part(yr + i, k, -INFINITY));
            vstore_part(dr + i, vfnma(e, c, vload_part(gr + i, k, 0.0f)), k);
        }
    }
}

static inline float vm_sum_squares(const float *x, long n) { return VM(dot)(x, x, n); }

// y = x · r · w with r = 1/√(mean(x²) + eps); r is stored per row when inv_rms is not NULL.
void VM(rms_norm_rows)(const float *x, const float *w, float *y, long rows, long cols, float eps, float *inv_rms) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float ir = 1.0f / sqrtf(vm_sum_squares(xr, cols) / (float)cols + eps);
        if (inv_rms) inv_rms[r] = ir;
        V vr = vset1(ir);
        long i = 0;
        if (w) {
            for (; i + VW <= cols; i += VW) vstore(yr + i, vmul(vmul(vload(xr + i), vr), vload(w + i)));
            if (i < cols) {
                long k = cols - i;
                vstore_part(yr + i, vmul(vmul(vload_part(xr + i, k, 0.0f), vr), vload_part(w + i, k, 0.0f)), k);
            }
        } else {
            VM(scale)(ir, xr, yr, cols);
        }
    }
}

// With x̂ = x·r and g = dy·w: dx = r·(g − x̂·mean(g·x̂)); dw += Σ_rows dy·x̂.
void VM(rms_norm_rows_backward)(const float *x, const float *w, const float *inv_rms, const float *dy, float *dx,
                                float *dw, long rows, long cols) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        V vr = vset1(inv_rms[r]);
        // Σ g·x̂ = r·Σ dy·w·x
        V acc = vzero();
        long i = 0;
        for (; i + VW <= cols; i += VW) {
            V g = vload(gr + i);
            if (w) g = vmul(g, vload(w + i));
            acc = vfma(g, vload(xr + i), acc);
        }
        if (i < cols) {
            long k = cols - i;
            V g = vload_part(gr + i, k, 0.0f);
            if (w) g = vmul(g, vload_part(w + i, k, 0.0f));
            acc = vfma(g, vload_part(xr + i, k, 0.0f), acc);
        }
        float ir = inv_rms[r];
        V c = vset1(vhsum(acc) * ir * ir / (float)cols);  // mean(g·x̂)·r, applied to x (= x̂/r)
        for (i = 0; i < cols; i += VW) {
            long k = cols - i < VW ? cols - i : VW;
            V xv = k == VW ? vload(xr + i) : vload_part(xr + i, k, 0.0f);
            V dv = k == VW ? vload(gr + i) : vload_part(gr + i, k, 0.0f);
            V g = dv;
            if (w) g = vmul(g, k == VW ? vload(w + i) : vload_part(w + i, k, 0.0f));
            if (dw) {
                V dwv = vfma(dv, vmul(xv, vr), k == VW ? vload(dw + i) : vload_part(dw + i, k, 0.0f));
                if (k == VW) vstore(dw + i, dwv); else vstore_part(dw + i, dwv, k);
            }
            V out = vmul(vr, vfnma(xv, c, g));  // r·(g − x·r·mean(g·x̂))
            if (k == VW) vstore(dr + i, out); else vstore_part(dr + i, out, k);
        }
    }
}

// y = (x − μ)·r·w + b with r = 1/√(var + eps) (biased variance, two passes for accuracy).
void VM(layer_norm_rows)(const float *x, const float *w, const float *b, float *y, long rows, long cols, float eps,
                         float *mean, float *inv_std) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * cols;
        float *yr = y + r * cols;
        float mu = VM(sum)(xr, cols) / (float)cols;
        V vmu = vset1(mu), acc = vzero();
        long i = 0;
        for (; i + VW <= cols; i += VW) { V d = vsub(vload(xr + i), vmu); acc = vfma(d, d, acc); }
        if (i < cols) { V d = vsub(vload_part(xr + i, cols - i, mu), vmu); acc = vfma(d, d, acc); }
        float ir = 1.0f / sqrtf(vhsum(acc) / (float)cols + eps);
        if (mean) mean[r] = mu;
        if (inv_std) inv_std[r] = ir;
        V vr = vset1(ir);
        for (i = 0; i < cols; i += VW) {
            long k = cols - i < VW ? cols - i : VW;
            V v = vmul(vsub(k == VW ? vload(xr + i) : vload_part(xr + i, k, 0.0f), vmu), vr);
            if (w) v = vmul(v, k == VW ? vload(w + i) : vload_part(w + i, k, 0.0f));
            if (b) v = vadd(v, k == VW ? vload(b + i) : vload_part(b + i, k, 0.0f));
            if (k == VW) vstore(yr + i, v); else vstore_part(yr + i, v, k);
        }
    }
}

// With x̂ = (x − μ)·r and g = dy·w: dx = r·(g − mean(g) − x̂·mean(g·x̂)); dw += Σ dy·x̂; db += Σ dy.
void VM(layer_norm_rows_backward)(const float *x, const float *w, const float *mean, const float *inv_std,
                                  const float *dy, float *dx, float *dw, float *db, long rows, long cols) {
    for (long r = 0; r < rows; ++r) {
        const float *xr = x + r * cols, *gr = dy + r * cols;
        float *dr = dx + r * cols;
        V vmu = vset1(mean[r]), vr = vset1(inv_std[r]);
        V sg = vzero(), sgx = vzero();
        for (long i = 0; i < cols; i += VW) {
            long k = cols - i < VW ? cols - i : VW;
            V g = k == VW ? vload(gr + i) : vload_part(gr + i, k, 0.0f);
            if (w) g = vmul(g, k == VW ? vload(w + i) : vload_part(w + i, k, 0.0f));
            V xh = vmul(vsub(k == VW ? vload(xr + i) : vload_part(xr + i, k, mean[r]), vmu), vr);
            sg = vadd(sg, g);
            sgx = vfma(g, xh, sgx);
        }
        V c1 = vset1(vhsum(sg) / (float)cols), c2 = vset1(vhsum(sgx) / (float)cols);
        for (long i = 0; i < cols; i += VW) {
            long k = cols - i < VW ? cols - i : VW;
            V dv = k == VW ? vload(gr + i) : vload_part(gr + i, k, 0.0f);
            V xh = vmul(vsub(k == VW ? vload(xr + i) : vload_part(xr + i, k, mean[r]), vmu), vr);
            V g = dv;
            if (w) g = vmul(g, k == VW ? vload(w + i) : vload_part(w + i, k, 0.0f));
            if (dw) {
                V v = vfma(dv, xh, k == VW ? vload(dw + i) : vload_part(dw + i, k, 0.0f));
                if (k == VW) vstore(dw + i, v); else vstore_part(dw + i, v, k);
            }
            if (db) {
                V v = vadd(dv, k == VW ? vload(db + i) : vload_part(db + i, k, 0.0f));
                if (k == VW) vstore(db + i, v); else vstore_part(db + i, v, k);
            }
            V out = vmul(vr, vsub(vsub(g, c1), vmul(xh, c2)));
            if (k == VW) vstore(dr + i, out); else vstore_part(dr + i, out, k);
        }
    }
}

// MARK: - Dispatch table of this variant

#include "vecmath_table.h"

void VM_CAT(latte_attn_qk, VM_SUFFIX)(LATTE_ATTN_QK_ARGS);
void VM_CAT(latte_attn_softmax_update, VM_SUFFIX)(LATTE_ATTN_SOFTMAX_UPDATE_ARGS);
void VM_CAT(latte_attn_pv, VM_SUFFIX)(LATTE_ATTN_PV_ARGS);
void VM_CAT(latte_attn_dots, VM_SUFFIX)(LATTE_ATTN_DOTS_ARGS);
void VM_CAT(latte_attn_pv_row, VM_SUFFIX)(LATTE_ATTN_PV_ROW_ARGS);

const latte_vm_table VM(table) = {
    .exp = VM(exp), .log = VM(log), .tanh = VM(tanh), .sigmoid = VM(sigmoid), .silu = VM(silu),
    .gelu_tanh = VM(gelu_tanh), .gelu_erf = VM(gelu_erf),
    .silu_backward = VM(silu_backward), .gelu_tanh_backward = VM(gelu_tanh_backward),
    .gelu_erf_backward = VM(gelu_erf_backward),
    .add = VM(add), .sub = VM(sub), .mul = VM(mul), .axpy = VM(axpy), .scale = VM(scale),
    .sum = VM(sum), .max = VM(max), .dot = VM(dot),
    .softmax_rows = VM(softmax_rows), .log_softmax_rows = VM(log_softmax_rows),
    .softmax_rows_backward = VM(softmax_rows_backward), .log_softmax_rows_backward = VM(log_softmax_rows_backward),
    .rms_norm_rows = VM(rms_norm_rows), .rms_norm_rows_backward = VM(rms_norm_rows_backward),
    .layer_norm_rows = VM(layer_norm_rows), .layer_norm_rows_backward = VM(layer_norm_rows_backward),
    .attn_qk = VM_CAT(latte_attn_qk, VM_SUFFIX), .attn_softmax_update = VM_CAT(latte_attn_softmax_update, VM_SUFFIX),
    .attn_pv = VM_CAT(latte_attn_pv, VM_SUFFIX), .attn_dots = VM_CAT(latte_attn_dots, VM_SUFFIX),
    .attn_pv_row = VM_CAT(latte_attn_pv_row, VM_SUFFIX),
};
