import CLatteKernels

/// Float64 matrix products for the few places that need float64's digits (the Fréchet distance's
/// 2048×2048 products). See latte_float64.h.
public enum Float64Gemm {
    /// C = A·Bᵀ with A [m, k], B [n, k], C [m, n], all row-major and dense; rows of A split between threads.
    public static func multiplyTransposed(_ a: UnsafePointer<Double>, _ b: UnsafePointer<Double>, into c: UnsafeMutablePointer<Double>,
                                          m: Int, n: Int, k: Int) {
        let rowsPerTask = 64
        Parallel.forEach((m + rowsPerTask - 1) / rowsPerTask) { task in
            let r0 = task * rowsPerTask, rows = Swift.min(rowsPerTask, m - r0)
            latte_dgemm_nt(a + r0 * k, k, b, k, c + r0 * n, n, rows, n, k)
        }
    }
}
