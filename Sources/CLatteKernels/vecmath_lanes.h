// Lane-wise special functions over the primitives of vecmath_simd_*.h, shared by the
// vector-math and attention templates.
//
// Approximations: exp and log use Cody–Waite argument reduction with the cephes expf / logf
// minimax polynomials (≈1 ulp); tanh uses the cephes tanhf polynomial below |x| = 0.625 and
// 1 − 2/(e^{2|x|} + 1) above; erf uses Abramowitz & Stegun 7.1.26 (|error| ≤ 1.5e−7).
#include <math.h>

#define VM_CAT2(a, b) a##_##b
#define VM_CAT(a, b) VM_CAT2(a, b)

// MARK: - Lane functions

static inline V v_exp(V x) {
    // Clamp so n stays in [−150, 128]: e^−104 underflows to 0 and e^89 overflows to inf anyway.
    // The constant is the first operand, so a NaN x passes through both clamps.
    x = vmax(vset1(-104.0f), vmin(vset1(89.0f), x));
    V n = vround(vmul(x, vset1(1.44269504088896341f)));
    V r = vfnma(n, vset1(0.693359375f), x);  // ln 2 split in two (Cody–Waite)
    r = vfnma(n, vset1(-2.12194440e-4f), r);
    V z = vmul(r, r);
    V p = vset1(1.9875691500e-4f);
    p = vfma(p, r, vset1(1.3981999507e-3f));
    p = vfma(p, r, vset1(8.3334519073e-3f));
    p = vfma(p, r, vset1(4.1665795894e-2f));
    p = vfma(p, r, vset1(1.6666665459e-1f));
    p = vfma(p, r, vset1(5.0000001201e-1f));
    p = vfma(p, z, vadd(r, vset1(1.0f)));
    return vscale2(p, n);
}

static inline V v_log(V x) {
    // Subnormals are scaled into the normal range first so the exponent field is exact.
    M sub = vlt(x, vset1(1.17549435e-38f));
    V xs = vsel(sub, vmul(x, vset1(33554432.0f)), x);
    VI bits = vasi(xs);
    V e = vsub(vcvti(visub(vsrl23(bits), viset1(126))), vsel(sub, vset1(25.0f), vzero()));
    V m = vasf(vior(viand(bits, viset1(0x007fffff)), viset1(0x3f000000)));  // mantissa in [0.5, 1)
    M low = vlt(m, vset1(0.707106781186547524f));
    e = vsel(low, vsub(e, vset1(1.0f)), e);
    V t = vsub(vsel(low, vadd(m, m), m), vset1(1.0f));  // t in [√½ − 1, √2 − 1)
    V z = vmul(t, t);
    V p = vset1(7.0376836292e-2f);
    p = vfma(p, t, vset1(-1.1514610310e-1f));
    p = vfma(p, t, vset1(1.1676998740e-1f));
    p = vfma(p, t, vset1(-1.2420140846e-1f));
    p = vfma(p, t, vset1(1.4249322787e-1f));
    p = vfma(p, t, vset1(-1.6668057665e-1f));
    p = vfma(p, t, vset1(2.0000714765e-1f));
    p = vfma(p, t, vset1(-2.4999993993e-1f));
    p = vfma(p, t, vset1(3.3333331174e-1f));
    V y = vmul(vmul(p, t), z);
    y = vfma(e, vset1(-2.12194440e-4f), y);
    y = vfnma(vset1(0.5f), z, y);
    V r = vadd(t, y);
    r = vfma(e, vset1(0.693359375f), r);
    // IEEE edges: log(+inf) = inf, log(±0) = −inf, log(x < 0) = NaN, NaN stays NaN.
    r = vsel(veq(x, vset1(INFINITY)), x, r);
    r = vsel(veq(x, vzero()), vset1(-INFINITY), r);
    r = vsel(vlt(x, vzero()), vset1(NAN), r);
    return vsel(visnan(x), x, r);
}

static inline V v_tanh(V x) {
    V ax = vabs(x);
    V z = vmul(x, x);
    V p = vset1(-5.70498872745e-3f);
    p = vfma(p, z, vset1(2.06390887954e-2f));
    p = vfma(p, z, vset1(-5.37397155531e-2f));
    p = vfma(p, z, vset1(1.33314422036e-1f));
    p = vfma(p, z, vset1(-3.33332819422e-1f));
    V small = vfma(vmul(p, z), x, x);
    // tanh(20) rounds to 1, so clamping there keeps e finite for the reciprocal (NaN passes).
    V e = v_exp(vmin(vset1(40.0f), vadd(ax, ax)));
    V big = vfnma(vset1(2.0f), vrecip(vadd(e, vset1(1.0f))), vset1(1.0f));
    big = vor(big, vand(x, vset1(-0.0f)));  // copy the sign of x
    return vsel(vlt(ax, vset1(0.625f)), small, big);
}

// σ(x) computed from e = e^{−|x|} ≤ 1, so it never overflows and keeps full relative accuracy
// for very negative x (σ = e/(1 + e) there).
static inline V v_sigmoid(V x) {
    V e = v_exp(vsub(vzero(), vabs(x)));
    V s = vrecip(vadd(vset1(1.0f), e));  // 1 + e in [1, 2]
    return vsel(vge(x, vzero()), s, vmul(e, s));
}

// σ(x) and σ(x)(1 − σ(x)) = e/(1 + e)², the latter without the cancellation of 1 − σ near 1.
static inline V v_sigmoid_and_slope(V x, V *slope) {
    V e = v_exp(vsub(vzero(), vabs(x)));
    V r = vrecip(vadd(vset1(1.0f), e));
    V er = vmul(e, r);
    *slope = vmul(er, r);
    return vsel(vge(x, vzero()), r, er);
}

static inline V v_silu(V x) {
    V y = vmul(x, v_sigmoid(x));
    return vsel(veq(x, vset1(-INFINITY)), vzero(), y);  // the limit, not −inf·0
}

#define GELU_K0 0.7978845608028654f  // √(2/π)
#define GELU_K1 0.044715f

// 0.5·x·(1 + tanh(u)) = x·σ(2u), u = √(2/π)(x + 0.044715x³): one exp, no cancellation.
static inline V v_gelu_tanh(V x) {
    V u2 = vmul(vmul(vset1(2.0f * GELU_K0), x), vfma(vset1(GELU_K1), vmul(x, x), vset1(1.0f)));
    V y = vmul(x, v_sigmoid(u2));
    return vsel(veq(x, vset1(-INFINITY)), vzero(), y);
}

// Φ(−|x|) = ½·erfc(|x|/√2) by A&S 7.1.26; also returns e^{−x²/2} for the derivative.
static inline V v_phi_lower(V x, V *gauss) {
    // Beyond z = 30 the tail e^{−z²} is 0 in float; the clamp keeps the reciprocal finite.
    V z = vmin(vset1(30.0f), vmul(vabs(x), vset1(0.70710678118654752f)));
    V t = vrecip(vfma(vset1(0.3275911f), z, vset1(1.0f)));
    V p = vset1(1.061405429f);
    p = vfma(p, t, vset1(-1.453152027f));
    p = vfma(p, t, vset1(1.421413741f));
    p = vfma(p, t, vset1(-0.284496736f));
    p = vfma(p, t, vset1(0.254829592f));
    p = vmul(p, t);
    V g = v_exp(vsub(vzero(), vmul(z, z)));
    *gauss = g;
    return vmul(vmul(vset1(0.5f), p), g);
}

// Φ(x), the standard normal CDF; for x < 0 it is the tail itself, so tiny values stay accurate.
static inline V v_phi(V x, V *gauss) {
    V q = v_phi_lower(x, gauss);
    return vsel(vge(x, vzero()), vsub(vset1(1.0f), q), q);
}

static inline V v_gelu_erf(V x) {
    V g;
    V y = vmul(x, v_phi(x, &g));
    return vsel(veq(x, vset1(-INFINITY)), vzero(), y);
}

// Derivatives use x clamped to a range where they have already reached their limits, so ±inf
// inputs give the limit instead of inf·0. The constant comes first so NaN passes through.
static inline V v_clamp(V x, float lo, float hi) { return vmax(vset1(lo), vmin(vset1(hi), x)); }

static inline V v_silu_grad(V x) {
    x = v_clamp(x, -200.0f, 200.0f);
    V slope;
    V s = v_sigmoid_and_slope(x, &slope);
    return vfma(x, slope, s);  // σ(1 + x(1 − σ)) = σ + x·σ(1 − σ)
}

static inline V v_gelu_tanh_grad(V x) {
    x = v_clamp(x, -20.0f, 20.0f);
    V x2 = vmul(x, x);
    V u2 = vmul(vmul(vset1(2.0f * GELU_K0), x), vfma(vset1(GELU_K1), x2, vset1(1.0f)));
    V slope;
    V s = v_sigmoid_and_slope(u2, &slope);
    // d/dx x·σ(2u) = σ + x·σ(1 − σ)·2√(2/π)(1 + 3·0.044715x²)
    V du = vmul(vset1(2.0f * GELU_K0), vfma(vset1(3.0f * GELU_K1), x2, vset1(1.0f)));
    return vfma(vmul(x, slope), du, s);
}

static inline V v_gelu_erf_grad(V x) {
    x = v_clamp(x, -20.0f, 20.0f);
    V g;
    V phi = v_phi(x, &g);
    return vfma(vmul(x, g), vset1(0.3989422804014327f), phi);  // Φ(x) + x·e^{−x²/2}/√(2π)
}

