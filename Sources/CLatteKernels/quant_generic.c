// Portable quantised GEMV and dequantisation (plain C; the inner loops over a block auto-vectorise).
#include "latte_quant.h"
#include "quant_internal.h"

void latte_quant_block_sums(ptrdiff_t k, const float *x, float *sx) {
    for (ptrdiff_t b = 0; b < k / QK; b++) {
        float s = 0;
        for (int i = 0; i < QK; i++) s += x[b * QK + i];
        sx[b] = s;
    }
}

void latte_qgemv_q8_0_generic(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                              float *y) {
    ptrdiff_t nb = k / QK;
    for (ptrdiff_t j = 0; j < n; j++) {
        const uint8_t *row = w + j * rowBytes;
        float acc = 0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * Q8_0_BYTES;
            const int8_t *q = (const int8_t *)(blk + 2);
            const float *xb = x + b * QK;
            float t = 0;
            for (int i = 0; i < QK; i++) t += (float)q[i] * xb[i];
            acc += latte_half_to_float(blk) * t;
        }
        y[j] = acc;
    }
}

void latte_qgemv_q4_1_generic(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                              const float *sx, float *y) {
    ptrdiff_t nb = k / QK;
    for (ptrdiff_t j = 0; j < n; j++) {
        const uint8_t *row = w + j * rowBytes;
        float acc = 0;
        for (ptrdiff_t b = 0; b < nb; b++) {
            const uint8_t *blk = row + b * Q4_1_BYTES;
            const uint8_t *qs = blk + 4;
            const float *xb = x + b * QK;
            float t = 0;
            for (int i = 0; i < QK / 2; i++) t += (float)(qs[i] & 15) * xb[i] + (float)(qs[i] >> 4) * xb[i + QK / 2];
            acc += latte_half_to_float(blk) * t + latte_half_to_float(blk + 2) * sx[b];
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
