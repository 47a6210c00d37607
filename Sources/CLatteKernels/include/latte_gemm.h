#ifndef LATTE_GEMM_H
#define LATTE_GEMM_H
// GEMM micro-kernels (filled in by the GEMM work).
#endif
