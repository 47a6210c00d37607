// Private declarations shared by the quant_*.c files (not part of the module's public header).
#ifndef LATTE_QUANT_INTERNAL_H
#define LATTE_QUANT_INTERNAL_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define QK 32
#define Q8_0_BYTES 34
#define Q4_1_BYTES 20

/// IEEE half to float in plain C (the generic path cannot assume F16C).
static inline float latte_half_to_float(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else {
            // Subnormal: shift the mantissa up until its leading one reaches the implicit bit.
            int e = -1;
            do { man <<= 1; e++; } while ((man & 0x400u) == 0);
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ffu) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/// x quantised per 32-element block: xq[i] = round(x[i]/dx[b]) with dx[b] = max|x|/127 over block b,
/// and sx[b] = Σ x over block b in float (Q4_1's offset term is Σ_b m_b·sx[b], exact).
typedef struct {
    const int8_t *xq;
    const float *dx;
    const float *sx;
} latte_qx;

void latte_quantize_x(ptrdiff_t k, const float *x, int8_t *xq, float *dx, float *sx);

/// Storage for one quantised x: on the caller's stack up to LATTE_QX_STACK_K values (every LM width in
/// use), on the heap beyond.
enum { LATTE_QX_STACK_K = 32768 };
typedef struct {
    _Alignas(64) int8_t q[LATTE_QX_STACK_K];
    float d[LATTE_QX_STACK_K / QK], s[LATTE_QX_STACK_K / QK];
    void *heap;
} latte_qx_storage;

/// Quantises x (k a multiple of QK) into `storage`; returns 0, or -1 when the heap allocation failed.
/// Release with latte_qx_release.
int latte_qx_prepare(latte_qx_storage *storage, ptrdiff_t k, const float *x, latte_qx *out);
void latte_qx_release(latte_qx_storage *storage);

#define QGEMV_ARGS ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, latte_qx x, float *y
void latte_qgemv_q8_0_generic(QGEMV_ARGS);
void latte_qgemv_q4_1_generic(QGEMV_ARGS);
#endif
