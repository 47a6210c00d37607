// Direct 3×3 convolution (stride 1, padding 1) written once over the lane primitives of
// vecmath_simd_*.h and compiled per variant (conv3x3_avx512.c, conv3x3_avx2.c, conv3x3_generic.c).
//
// Why direct: at 32–64 channels the im2col + GEMM path spends as long unfolding short rows into
// GEMM panels as multiplying them. Here the input image is read in place (zero-padded once by the
// caller, conv3x3_dispatch.c), output pixels of one row sit side by side in the lanes, and a
// register tile of OB output channels × RB output rows is accumulated: for each input channel and
// kernel column kx, the RB + 2 input rows it needs are loaded once and each is multiplied by the
// 3 · OB broadcast weights of the rows it feeds. No packing, no scatter.
#include "vecmath_lanes.h"

#define CV(name) VM_CAT(latte_conv3x3_##name, VM_SUFFIX)

// Register tiles sized to the register file: OB·RB accumulators + RB + 2 input rows + 1 weight
// (AVX-512: 20 + 7 + 1 of 32 zmm; AVX2: 8 + 6 + 1 of 16 ymm).
#if VW == 16
#define OB 4
#define RB 5
#elif VW == 8
#define OB 2
#define RB 4
#else
#define OB 4
#define RB 2
#endif

long CV(block)(void) { return OB; }

// One tile: output channels oc0 ..< oc0 + nob (nob ≤ OB) of rows y0 ..< y0 + R, columns
// x0 ..< x0 + nl (nl ≤ VW). `in` points at padded row y0, column x0 of channel 0; `wb` at the
// block's packed weights [c][9][OB]; `out` at (oc0, y0, x0). R and full are constants after inlining.
static inline __attribute__((always_inline)) void CV(tile)(
    const float *in, long c, long wp, long plane, const float *wb, const float *bias, long nob,
    float *out, long ocs, long ors, long nl, const int R, const int full) {
    V acc[OB][RB];
    for (int b = 0; b < OB; b++) {
        V bv = vset1(bias && b < nob ? bias[b] : 0.0f);
        for (int r = 0; r < R; r++) acc[b][r] = bv;
    }
    for (long ci = 0; ci < c; ci++) {
        const float *pc = in + ci * plane;
        const float *wc = wb + ci * 9 * OB;
        for (int kx = 0; kx < 3; kx++) {
            V row[RB + 2];
            for (int j = 0; j < R + 2; j++)
                row[j] = full ? vload(pc + j * wp + kx) : vload_part(pc + j * wp + kx, nl, 0.0f);
            for (int ky = 0; ky < 3; ky++) {
                for (int b = 0; b < OB; b++) {
                    V wv = vset1(wc[(ky * 3 + kx) * OB + b]);
                    for (int r = 0; r < R; r++) acc[b][r] = vfma(row[r + ky], wv, acc[b][r]);
                }
            }
        }
    }
    for (int b = 0; b < OB; b++) {
        if (b >= nob) break;
        for (int r = 0; r < R; r++) {
            if (full) vstore(out + b * ocs + r * ors, acc[b][r]);
            else vstore_part(out + b * ocs + r * ors, acc[b][r], nl);
        }
    }
}

#define CV_TILE(R, FULL) CV(tile)(in, c, wp, plane, wb, bb, nob, dst, hw, w, nl, R, FULL)

static inline __attribute__((always_inline)) void CV(rows)(
    const float *in0, long c, long h, long w, long wp, long plane, const float *wb, const float *bb,
    long nob, float *ob, long hw, long x0, long nl, const int FULL) {
    long y = 0;
    for (; y + RB <= h; y += RB) {
        const float *in = in0 + y * wp + x0;
        float *dst = ob + y * w + x0;
        CV_TILE(RB, FULL);
    }
    long rem = h - y;
    if (rem == 0) return;
    const float *in = in0 + y * wp + x0;
    float *dst = ob + y * w + x0;
    switch (rem) {
#if RB > 1
    case 1: CV_TILE(1, FULL); break;
#endif
#if RB > 2
    case 2: CV_TILE(2, FULL); break;
#endif
#if RB > 3
    case 3: CV_TILE(3, FULL); break;
#endif
#if RB > 4
    case 4: CV_TILE(4, FULL); break;
#endif
    default: break;
    }
}

// Output-channel block `blk` (channels blk·OB ..< min(o, blk·OB + OB)) of one image: xp is the
// padded input [c][h + 2][w + 2], wpk the weights packed by latte_conv3x3_pack for this OB, out the
// image's output [o][h][w].
void CV(run)(const float *xp, long c, long h, long w, const float *wpk, const float *bias, long o,
             long blk, float *out) {
    long wp = w + 2, plane = (h + 2) * wp, hw = h * w;
    long oc0 = blk * OB;
    long nob = o - oc0 < OB ? o - oc0 : OB;
    const float *wb = wpk + blk * c * 9 * OB;
    const float *bb = bias ? bias + oc0 : 0;
    float *ob = out + oc0 * hw;
    long x0 = 0;
    for (; x0 + VW <= w; x0 += VW) CV(rows)(xp, c, h, w, wp, plane, wb, bb, nob, ob, hw, x0, VW, 1);
    if (x0 < w) CV(rows)(xp, c, h, w, wp, plane, wb, bb, nob, ob, hw, x0, w - x0, 0);
}

#undef CV_TILE
#undef OB
#undef RB
