#ifndef LATTE_FLOAT64_H
#define LATTE_FLOAT64_H
#include <stddef.h>

/// C[i][j] = Σ_p A[i][p]·B[j][p] for i < m, j < n, p < k (C = A·Bᵀ, all row-major, float64),
/// overwriting C. Single-threaded: callers split the rows of A (and C) between threads.
/// Used by the Fréchet distance (D = 2048 matrices) where float32 would lose the digits FID needs.
/// Blocked for the caches (B in blocks of 64 rows × 256 columns) with an AVX-512 4×4 / AVX2 2×4
/// register tile; the sum order is fixed per kernel family, not per thread count.
void latte_dgemm_nt(const double *a, size_t lda, const double *b, size_t ldb, double *c, size_t ldc,
                    size_t m, size_t n, size_t k);
#endif
