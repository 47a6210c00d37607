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

/// Sums of x over each 32-element block (sx[b] = Σ x[32b ..< 32b+32]): Q4_1's offset term is
/// Σ_b m_b · sx[b], so it costs one multiply per block instead of one per weight.
void latte_quant_block_sums(ptrdiff_t k, const float *x, float *sx);

void latte_qgemv_q8_0_generic(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x, float *y);
void latte_qgemv_q4_1_generic(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                              const float *sx, float *y);
#if defined(__x86_64__)
void latte_qgemv_q8_0_avx2(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x, float *y);
void latte_qgemv_q4_1_avx2(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                           const float *sx, float *y);
void latte_qgemv_q8_0_avx512(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x, float *y);
void latte_qgemv_q4_1_avx512(ptrdiff_t n, ptrdiff_t k, const uint8_t *w, ptrdiff_t rowBytes, const float *x,
                             const float *sx, float *y);
#endif
#endif
