#include <stdlib.h>
#include <string.h>
#include "latte_cpu.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>

static unsigned long long latte_xgetbv(unsigned index) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(index));
    return ((unsigned long long)edx << 32) | eax;
}

static unsigned detect(void) {
    unsigned a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (c & bit_SSE4_1) f |= LATTE_CPU_SSE41;
    int osxsave = (c & bit_OSXSAVE) != 0;
    if (!osxsave) return f;
    unsigned long long xcr0 = latte_xgetbv(0);
    int ymm = (xcr0 & 0x6) == 0x6;      // XMM and YMM state saved by the OS
    int zmm = (xcr0 & 0xe6) == 0xe6;    // plus opmask and ZMM state
    if (ymm && (c & bit_AVX)) f |= LATTE_CPU_AVX;
    if (ymm && (c & bit_FMA)) f |= LATTE_CPU_FMA;
    if (ymm && (c & bit_F16C)) f |= LATTE_CPU_F16C;
    if (__get_cpuid_max(0, 0) >= 7) {
        __cpuid_count(7, 0, a, b, c, d);
        if (ymm && (b & bit_AVX2)) f |= LATTE_CPU_AVX2;
        if (zmm && (b & bit_AVX512F)) f |= LATTE_CPU_AVX512F;
        if (zmm && (b & bit_AVX512BW)) f |= LATTE_CPU_AVX512BW;
        if (zmm && (b & bit_AVX512DQ)) f |= LATTE_CPU_AVX512DQ;
        if (zmm && (b & bit_AVX512VL)) f |= LATTE_CPU_AVX512VL;
        __cpuid_count(7, 1, a, b, c, d);
        if (zmm && (a & (1u << 5))) f |= LATTE_CPU_AVX512BF16;
    }
    return f;
}
#elif defined(__aarch64__)
static unsigned detect(void) { return LATTE_CPU_NEON; }
#else
static unsigned detect(void) { return 0; }
#endif

// LATTE_KERNELS lowers the detected set so a smaller kernel family can be measured and tested on a
// bigger machine (an AVX-512 host running the AVX2 kernels an AVX2-only EPYC would run). It can only
// remove features, never claim ones the CPU lacks. Every dispatcher reads latte_cpu_features, so GEMM,
// GEMV, vector math, attention, convolution and the optimizer all follow it.
static int parse_override(const char *s) {
    if (!s || !*s || !strcmp(s, "auto") || !strcmp(s, "avx512")) return LATTE_KERNELS_AUTO;
    if (!strcmp(s, "avx2")) return LATTE_KERNELS_AVX2;
    if (!strcmp(s, "generic")) return LATTE_KERNELS_GENERIC;
    return LATTE_KERNELS_INVALID;
}

int latte_cpu_kernel_override(void) { return parse_override(getenv("LATTE_KERNELS")); }

static unsigned apply_override(unsigned f) {
    const unsigned avx512 = LATTE_CPU_AVX512F | LATTE_CPU_AVX512BW | LATTE_CPU_AVX512DQ |
                            LATTE_CPU_AVX512VL | LATTE_CPU_AVX512BF16;
    switch (latte_cpu_kernel_override()) {
    case LATTE_KERNELS_AVX2: return f & ~avx512;
    case LATTE_KERNELS_GENERIC: return f & ~(avx512 | LATTE_CPU_AVX | LATTE_CPU_AVX2 | LATTE_CPU_FMA | LATTE_CPU_F16C);
    default: return f;  // auto, or a value the Swift side reports as not understood
    }
}

unsigned latte_cpu_detected_features(void) { return detect(); }

unsigned latte_cpu_features(void) {
    // Benign race: every thread computes the same value.
    static volatile unsigned cached = 0xffffffffu;
    unsigned v = cached;
    if (v == 0xffffffffu) { v = apply_override(detect()); cached = v; }
    return v;
}
