#ifndef LATTE_GEMM_H
#define LATTE_GEMM_H
// GEMM building blocks: packing routines, register-tiled micro-kernels swept over a packed block
// (the BLIS "macro-kernel"), and GEMV kernels. Each exists as AVX-512, AVX2+FMA and generic C; the
// variant is passed explicitly so tests can force every one the CPU supports. Blocking (KC/MC/NC) and
// threading live in the Swift driver (LatteKernels/Gemm*.swift). All matrices are row-major float32.

#include <stddef.h>

/// Kernel families. The numbering is part of the Swift bridge (GemmKernel).
enum {
    LATTE_GEMM_GENERIC = 0,   // plain C; auto-vectorised (NEON on arm64, SSE2 on x86-64)
    LATTE_GEMM_AVX2 = 1,      // AVX2 + FMA, 6×16 micro-tile in 12 ymm accumulators
    LATTE_GEMM_AVX512 = 2,    // AVX-512F, 8×48 micro-tile in 24 zmm accumulators
};

/// Best family for the running CPU (from latte_cpu_features()).
int latte_gemm_best_kind(void);
/// 1 when `kind` can run on this CPU.
int latte_gemm_kind_supported(int kind);
/// Micro-tile rows (MR) and columns (NR) of a family.
int latte_gemm_mr(int kind);
int latte_gemm_nr(int kind);

/// Packs op(A)[0..<mc, 0..<kc] into ceil(mc/MR) panels of MR rows; panel p holds
/// ap[p·MR·kc + k·MR + i] = op(A)[p·MR + i, k], rows past mc padded with zeros.
/// transA == 0: op(A)[i,k] = a[i·lda + k]; otherwise a[k·lda + i].
void latte_gemm_pack_a(int kind, int transA, const float *a, ptrdiff_t lda, ptrdiff_t mc, ptrdiff_t kc,
                       float *ap);

/// Packs op(B)[0..<kc, 0..<nc] into ceil(nc/NR) panels of NR columns; panel q holds
/// bp[q·NR·kc + k·NR + j] = op(B)[k, q·NR + j], columns past nc padded with zeros.
/// transB == 0: op(B)[k,j] = b[k·ldb + j]; otherwise b[j·ldb + k].
void latte_gemm_pack_b(int kind, int transB, const float *b, ptrdiff_t ldb, ptrdiff_t kc, ptrdiff_t nc,
                       float *bp);

/// C[0..<mc, 0..<nc] = alpha · A · Bpacked + beta · C over one block (all micro-tiles). A element (i, p)
/// of the MR-row panel starting at a + (i0/MR)·panelStride is at [i·rs + p·cs]: a packed A has rs = 1,
/// cs = MR, panelStride = MR·kc; a row-major A read in place (no packing) has rs = lda, cs = 1,
/// panelStride = MR·lda. beta == 0 means C is not read.
void latte_gemm_macro(int kind, ptrdiff_t mc, ptrdiff_t nc, ptrdiff_t kc, const float *a, ptrdiff_t rs,
                      ptrdiff_t cs, ptrdiff_t panelStride, const float *bp, float *c, ptrdiff_t ldc, float alpha,
                      float beta);

/// y[j] = alpha · Σ_k x[k] · b[k·ldb + j] + beta · y[j] for j in 0..<n (B stored [k, n]).
void latte_gemv_cols(int kind, ptrdiff_t k, ptrdiff_t n, const float *b, ptrdiff_t ldb, const float *x,
                     float *y, float alpha, float beta);

/// A 64-byte aligned buffer of at least `count` floats owned by the calling thread (slot 0..3), kept
/// between calls so GEMMs don't pay for page faults each time. Returns NULL when memory is exhausted.
float *latte_gemm_scratch(int slot, size_t count);

/// Spin-wait hint for the thread pool (x86 `pause`, arm64 `yield`), so a spinning worker doesn't
/// starve its sibling hyper-thread or burn power at full speed.
static inline void latte_cpu_relax(void) {
#if defined(__x86_64__)
    __asm__ __volatile__("pause");
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

#endif
