// Entry points of the direct 3×3 convolution: the caller names the variant (see latte_conv.h).
#include <string.h>
#include "latte_conv.h"
#include "latte_vecmath.h"

long latte_conv3x3_block_generic(void);
void latte_conv3x3_run_generic(const float *, long, long, long, const float *, const float *, long, long, float *);
#if defined(__x86_64__)
long latte_conv3x3_block_avx2(void);
long latte_conv3x3_block_avx512(void);
void latte_conv3x3_run_avx2(const float *, long, long, long, const float *, const float *, long, long, float *);
void latte_conv3x3_run_avx512(const float *, long, long, long, const float *, const float *, long, long, float *);
#endif

long latte_conv3x3_block(int variant) {
    switch (variant) {
#if defined(__x86_64__)
    case LATTE_VM_AVX2: return latte_conv3x3_block_avx2();
    case LATTE_VM_AVX512: return latte_conv3x3_block_avx512();
#endif
    default: return latte_conv3x3_block_generic();
    }
}

void latte_conv3x3_pack(int variant, const float *w, long o, long c, float *wpk) {
    long ob = latte_conv3x3_block(variant);
    long blocks = (o + ob - 1) / ob;
    for (long blk = 0; blk < blocks; blk++)
        for (long ci = 0; ci < c; ci++)
            for (long k = 0; k < 9; k++)
                for (long b = 0; b < ob; b++) {
                    long oc = blk * ob + b;
                    wpk[((blk * c + ci) * 9 + k) * ob + b] = oc < o ? w[(oc * c + ci) * 9 + k] : 0.0f;
                }
}

void latte_conv3x3_pad(const float *x, long c, long h, long w, float *xp) {
    long wp = w + 2;
    for (long ci = 0; ci < c; ci++) {
        float *p = xp + ci * (h + 2) * wp;
        memset(p, 0, (size_t)wp * sizeof(float));
        for (long y = 0; y < h; y++) {
            float *row = p + (y + 1) * wp;
            row[0] = 0.0f;
            memcpy(row + 1, x + (ci * h + y) * w, (size_t)w * sizeof(float));
            row[w + 1] = 0.0f;
        }
        memset(p + (h + 1) * wp, 0, (size_t)wp * sizeof(float));
    }
}

void latte_conv3x3_run(int variant, const float *xp, long c, long h, long w, const float *wpk,
                       const float *bias, long o, long blk, float *out) {
    switch (variant) {
#if defined(__x86_64__)
    case LATTE_VM_AVX2: latte_conv3x3_run_avx2(xp, c, h, w, wpk, bias, o, blk, out); return;
    case LATTE_VM_AVX512: latte_conv3x3_run_avx512(xp, c, h, w, wpk, bias, o, blk, out); return;
#endif
    default: latte_conv3x3_run_generic(xp, c, h, w, wpk, bias, o, blk, out); return;
    }
}
