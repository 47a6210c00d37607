// What `latte info` prints: one line with the CPU features, the kernels selected for them, the
// thread count and whether OpenBLAS was found. Each kernel family adds its entry to `kernels`.

public enum KernelInfo {
    /// "family=selection" for every kernel family chosen at run time. Append new families here
    /// (e.g. vector math) so `latte info` reports them.
    public static var kernels: [String] {
        [
            "gemm=\(Gemm.kernel)",
            "gemv=\(Gemm.kernel.name)",
            "vecmath=\(VectorMath.variant)",
            "attention=\(VectorMath.variant)",
            "conv3x3=\(VectorMath.variant)",
        ]
    }

    /// The one-line summary, e.g.
    /// `cpu: avx2 fma avx512f … | kernels: gemm=avx512 8x48 gemv=avx512 | threads: 2 | openblas: libopenblas.so.0`.
    public static var summary: String {
        let blas = OpenBLAS.shared.map { "found (\($0.library))" } ?? "not found"
        return "cpu: \(CPUFeatures.current) | kernels: \(kernels.joined(separator: " "))"
            + (CPUFeatures.overrideNote.map { " | \($0)" } ?? "")
            + " | threads: \(Parallel.threadCount) | openblas: \(blas)"
    }
}
