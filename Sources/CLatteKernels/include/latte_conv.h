#ifndef LATTE_CONV_H
#define LATTE_CONV_H

// Direct 3×3 convolution, stride 1, padding 1, one group (conv3x3_template.h). `variant` is a
// LATTE_VM_* value (the vector-math selection, so LATTE_KERNELS and latte_vm_set_variant apply);
// the same variant must be passed to pack and run, since the output-channel block size differs.

/// Output channels per block (per task) of `variant`.
long latte_conv3x3_block(int variant);

/// Packs weight [o][c][3][3] into wpk [ceil(o / block)][c][9][block], zero-filling the last block.
/// wpk holds ceil(o / block) · block · c · 9 floats.
void latte_conv3x3_pack(int variant, const float *w, long o, long c, float *wpk);

/// Copies one image x [c][h][w] into xp [c][h + 2][w + 2] with a zero border.
void latte_conv3x3_pad(const float *x, long c, long h, long w, float *xp);

/// Output-channel block `blk` of one image: out [o][h][w] (only that block's channels written),
/// from the padded input and packed weights; bias [o] or NULL.
void latte_conv3x3_run(int variant, const float *xp, long c, long h, long w, const float *wpk,
                       const float *bias, long o, long blk, float *out);

#endif
