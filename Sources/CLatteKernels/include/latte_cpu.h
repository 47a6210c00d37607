#ifndef LATTE_CPU_H
#define LATTE_CPU_H

// CPU features detected at run time (cpuid + xgetbv on x86-64, so a feature counts only when the
// OS also saves its registers). Kernels are chosen from these bits, never from compile flags.
enum {
    LATTE_CPU_SSE41 = 1 << 0,
    LATTE_CPU_AVX = 1 << 1,
    LATTE_CPU_AVX2 = 1 << 2,
    LATTE_CPU_FMA = 1 << 3,
    LATTE_CPU_F16C = 1 << 4,
    LATTE_CPU_AVX512F = 1 << 5,
    LATTE_CPU_AVX512BW = 1 << 6,
    LATTE_CPU_AVX512DQ = 1 << 7,
    LATTE_CPU_AVX512VL = 1 << 8,
    LATTE_CPU_AVX512BF16 = 1 << 9,
    LATTE_CPU_NEON = 1 << 16,
};

/// Bit set of LATTE_CPU_* flags the kernels may use: the running CPU's, lowered by the
/// LATTE_KERNELS environment variable when set (computed once, then cached).
unsigned latte_cpu_features(void);

/// The running CPU's flags before LATTE_KERNELS is applied.
unsigned latte_cpu_detected_features(void);

/// LATTE_KERNELS, read from the environment: unset, "auto" or "avx512" (the best the CPU has),
/// "avx2" (no AVX-512), "generic" (portable C only), anything else INVALID (then ignored).
enum {
    LATTE_KERNELS_AUTO = 0,
    LATTE_KERNELS_AVX2 = 1,
    LATTE_KERNELS_GENERIC = 2,
    LATTE_KERNELS_INVALID = -1,
};
int latte_cpu_kernel_override(void);

#endif
