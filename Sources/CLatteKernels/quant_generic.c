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
