// Portable quantised GEMV and dequantisation (plain C; the inner loops over a block auto-vectorise).
#include "latte_quant.h"
#include "quant_internal.h"
#include <math.h>

void latte_quantize_x(ptrdiff_t k, const float *x, int8_t *xq, float *dx, float *sx) {
    for (ptrdiff_t b = 0; b < k / QK; b++) {
        const float *xb = x + b * QK;
        float amax = 0, s = 0;
        for (int i = 0; i < QK; i++) {
            float a = fabsf(xb[i]);
            amax = a > amax ? a : amax;
            s += xb[i];
        }
        float d = amax / 127.0f, inv = d != 0 ? 1.0f / d : 0.0f;
        for (int i = 0; i < QK; i++) xq[b * QK + i] = (int8_t)lrintf(xb[i] * inv);
        dx[b] = d;
        sx[b] = s;
    }
}

void latte_qgemv_q8_0_generic(QGEMV_ARGS) {
    ptrdiff_t nb = k / QK;
    for (ptrdiff_t j = 0; j < n; j++) {
        const uint8_t *row = w + j * rowBytes;
        float acc = 0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * Q8_0_BYTES;
            const int8_t *q = (const int8_t *)(blk + 2), *xq = x.xq + b * QK;
            int32_t dot = 0;
            for (int i = 0; i < QK; i++) dot += (int32_t)q[i] * xq[i];
            acc += latte_half_to_float(blk) * x.dx[b] * (float)dot;
        }
        y[j] = acc;
    }
}

void latte_qgemv_q4_1_generic(QGEMV_ARGS) {
    ptrdiff_t nb = k / QK;
    for (ptrdiff_t j = 0; j < n; j++) {
        const uint8_t *row = w + j * rowBytes;
        float acc = 0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * Q4_1_BYTES, *qs = blk + 4;
            const int8_t *xq = x.xq + b * QK;
            int32_t dot = 0;
            for (int i = 0; i < QK / 2; i++) dot += (int32_t)(qs[i] & 15) * xq[i] + (int32_t)(qs[i] >> 4) * xq[i + QK / 2];
            acc += latte_half_to_float(blk) * x.dx[b] * (float)dot + latte_half_to_float(blk + 2) * x.sx[b];
        }
        y[j] = acc;
    }
}

int latte_quant_dequantize_rows(int type, ptrdiff_t n, ptrdiff_t k, const void *w, ptrdiff_t rowBytes, float *out,
                                ptrdiff_t ldo) {
    if (k <= 0 || k % QK != 0) return -1;
    ptrdiff_t nb = k / QK;
    const uint8_t *base = w;
    switch (type) {
    case LATTE_QUANT_Q8_0:
        for (ptrdiff_t j = 0; j < n; j++) {
            for (ptrdiff_t b = 0; b < nb; b++) {
                const uint8_t *blk = base + j * rowBytes + b * Q8_0_BYTES;
                const int8_t *q = (const int8_t *)(blk + 2);
                float d = latte_half_to_float(blk), *o = out + j * ldo + b * QK;
                for (int i = 0; i < QK; i++) o[i] = d * (float)q[i];
            }
        }
        return 0;
    case LATTE_QUANT_Q4_1:
        for (ptrdiff_t j = 0; j < n; j++) {
            for (ptrdiff_t b = 0; b < nb; b++) {
                const uint8_t *blk = base + j * rowBytes + b * Q4_1_BYTES;
                const uint8_t *qs = blk + 4;
                float d = latte_half_to_float(blk), m = latte_half_to_float(blk + 2), *o = out + j * ldo + b * QK;
                for (int i = 0; i < QK / 2; i++) {
                    o[i] = d * (float)(qs[i] & 15) + m;
                    o[i + QK / 2] = d * (float)(qs[i] >> 4) + m;
                }
            }
        }
        return 0;
    default: return -1;
    }
}

// ---- float32 → blocks (quantising weights at load) --------------------------------------------------

/// Float to IEEE half, rounding to nearest even (overflow to infinity, underflow through subnormals).
static void latte_float_to_half(float f, uint8_t *p) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u, abs = x & 0x7fffffffu;
    uint16_t h;
    if (abs > 0x7f800000u) {
        h = (uint16_t)(sign | 0x7e00u);                       // NaN
    } else if (abs >= 0x477ff000u) {
        h = (uint16_t)(sign | 0x7c00u);                       // ≥ 65520 rounds to infinity
    } else if (abs < 0x38800000u) {
        // Below the smallest normal half (2^-14): a subnormal, value = m · 2^-24.
        if (abs < 0x33000000u) {
            h = (uint16_t)sign;                               // < 2^-25 rounds to zero
        } else {
            uint32_t e = abs >> 23, m = (abs & 0x7fffffu) | 0x800000u;
            uint32_t shift = 126 - e;                         // 14 + (113 − e) − 1 … bits dropped
            uint32_t q = m >> shift, rest = m & ((1u << shift) - 1), half = 1u << (shift - 1);
            if (rest > half || (rest == half && (q & 1))) q++;
            h = (uint16_t)(sign | q);
        }
    } else {
        uint32_t rebased = abs - 0x38000000u;                 // exponent 127 → 15
        uint32_t q = rebased >> 13, rest = rebased & 0x1fffu;
        if (rest > 0x1000u || (rest == 0x1000u && (q & 1))) q++;  // a carry into the exponent is right
        h = (uint16_t)(sign | q);
    }
    memcpy(p, &h, 2);
}

int latte_quant_quantize_rows(int type, ptrdiff_t n, ptrdiff_t k, const float *x, ptrdiff_t ldx, void *w,
                              ptrdiff_t rowBytes) {
    if (k <= 0 || k % QK != 0) return -1;
    if (type != LATTE_QUANT_Q8_0 && type != LATTE_QUANT_Q4_1) return -1;
    ptrdiff_t nb = k / QK;
    uint8_t *base = w;
    for (ptrdiff_t j = 0; j < n; j++) {
        for (ptrdiff_t b = 0; b < nb; b++) {
            const float *xb = x + j * ldx + b * QK;
            if (type == LATTE_QUANT_Q8_0) {
                uint8_t *blk = base + j * rowBytes + b * Q8_0_BYTES;
                float amax = 0;
                for (int i = 0; i < QK; i++) amax = fabsf(xb[i]) > amax ? fabsf(xb[i]) : amax;
                float d = amax / 127.0f, id = d != 0 ? 1.0f / d : 0.0f;
                latte_float_to_half(d, blk);
                int8_t *q = (int8_t *)(blk + 2);
                for (int i = 0; i < QK; i++) q[i] = (int8_t)roundf(xb[i] * id);
            } else {
                uint8_t *blk = base + j * rowBytes + b * Q4_1_BYTES, *qs = blk + 4;
                float lo = xb[0], hi = xb[0];
                for (int i = 1; i < QK; i++) {
                    lo = xb[i] < lo ? xb[i] : lo;
                    hi = xb[i] > hi ? xb[i] : hi;
                }
                float d = (hi - lo) / 15.0f, id = d != 0 ? 1.0f / d : 0.0f;
                latte_float_to_half(d, blk);
                latte_float_to_half(lo, blk + 2);
                for (int i = 0; i < QK / 2; i++) {
                    int a = (int)((xb[i] - lo) * id + 0.5f), c = (int)((xb[i + QK / 2] - lo) * id + 0.5f);
                    a = a > 15 ? 15 : a;
                    c = c > 15 ? 15 : c;
                    qs[i] = (uint8_t)(a | c << 4);
                }
            }
        }
    }
    return 0;
}
