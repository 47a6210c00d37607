// A GEMM entry point for callers that write B straight into the micro-kernel's packed panel layout
// (conv2d's im2col does, so the column matrix is never stored unpacked and never copied twice).
import CLatteKernels

public enum GemmPackedB {
    /// Rows of A swept per call of the C macro-kernel (the A block stays in L2), as GemmBlocked.
    static let mc = 128

    /// C[m×n] = A[m×k] · B + beta · C, single-threaded, where A is row-major (lda ≥ k, read in place)
    /// and B is packed for `kind` as `latte_gemm_pack_b` lays it out: ceil(n/NR) panels of NR
    /// columns, panel q at packedB + q·NR·k holding B[p, q·NR + j] at [p·NR + j], lanes past n
    /// zero. C rows are ldc apart; beta == 0 means C is not read.
    public static func multiply(
        kind: GemmKernel, m: Int, n: Int, k: Int, a: UnsafePointer<Float>, lda: Int,
        packedB: UnsafePointer<Float>, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        guard m > 0, n > 0, k > 0 else { return }
        let mr = kind.mr
        var ic = 0
        while ic < m {
            let mcb = Swift.min(mc / mr * mr, m - ic)
            latte_gemm_macro(kind.rawValue, mcb, n, k, a + ic * lda, lda, 1, mr * lda, packedB, c + ic * ldc, ldc, 1, beta)
            ic += mcb
        }
    }

    /// This thread's reusable 64-byte aligned buffer of at least `count` floats for `slot` (0…3,
    /// shared with sgemm's own packing: valid until the thread's next sgemm call or next request
    /// for the same slot).
    public static func scratch(slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        guard let p = latte_gemm_scratch(Int32(slot), count) else { fatalError("GemmPackedB: out of memory for \(count) floats") }
        return p
    }
}
