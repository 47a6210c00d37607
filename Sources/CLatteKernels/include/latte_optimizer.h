#ifndef LATTE_OPTIMIZER_H
#define LATTE_OPTIMIZER_H
#include <stddef.h>

/// One AdamW step over n parameters (torch.optim.AdamW's formula, scalars precomputed by the caller):
///   m = m + (1 − β1)(g − m);  v = β2·v + (1 − β2)·g²
///   p = keep·p − stepSize · m / (√v / √(1 − β2^t) + eps)
/// Every variant performs the same IEEE operations per element in the same order (no fused
/// multiply-add), so results are identical whichever kernel runs and wherever a chunk starts.
void latte_adamw_step(float *p, const float *g, float *m, float *v, size_t n,
                      float one_minus_beta1, float beta2, float one_minus_beta2,
                      float bias_correction2_sqrt, float eps, float step_size, float keep);

#endif
