// Single-precision GEMM entry points. The work is done by a packed, register-tiled, cache-blocked
// GEMM (GemmBlocked.swift) with C micro-kernels chosen at run time, a GEMV path for m == 1 or
// n == 1 (GemmVector.swift), and, when LATTE_BLAS=openblas and the library loads, OpenBLAS.

public enum Gemm {
    /// C[m×n] = alpha · op(A)[m×k] · op(B)[k×n] + beta · C, all row-major.
    /// op(A) = A (lda ≥ k) or Aᵀ (A stored k×m, lda ≥ m); likewise B.
    /// When beta == 0, C is not read (it may hold garbage or NaN).
    public static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
    ) {
        sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
              a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
              threads: Parallel.isInsideParallelRegion ? 1 : Parallel.threadCount)
    }

    /// `batch` independent products; item i uses a + i·strideA, b + i·strideB, c + i·strideC.
    /// A stride of 0 shares that operand across the batch (e.g. one weight for every item).
    public static func sgemmBatched(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, strideA: Int,
        b: UnsafePointer<Float>, ldb: Int, strideB: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, strideC: Int, batch: Int
    ) {
        guard batch > 0, m > 0, n > 0 else { return }
        // A shared B with items of A and C stacked row after row is one GEMM with batch·m rows:
        // B is packed once and the whole batch is split across threads.
        if batch == 1 || (strideB == 0 && !transposeA && strideA == m * lda && strideC == m * ldc) {
            sgemm(transposeA: transposeA, transposeB: transposeB, m: m * batch, n: n, k: k, alpha: alpha,
                  a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let threads = Parallel.isInsideParallelRegion ? 1 : Parallel.threadCount
        let itemFlops = 2 * m * n * k
        if threads > 1 && (batch < threads || itemFlops >= 64 << 20) {
            // Few or big items: parallelise inside each product.
            for i in 0..<batch {
                sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                      a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                      beta: beta, c: c + i * strideC, ldc: ldc, threads: threads)
            }
            return
        }
        // Many small items (attention heads): one item per task, each single-threaded.
        Parallel.forEach(batch) { i in
            sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                  a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb,
                  beta: beta, c: c + i * strideC, ldc: ldc, threads: 1)
        }
    }

    static func sgemm(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
    ) {
        guard m > 0, n > 0 else { return }
        if k == 0 || alpha == 0 {
            scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
            return
        }
        if useOpenBLAS, let blas = OpenBLAS.shared {
            blas.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                       a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
            return
        }
        let kind = kernel
        if m == 1 || n == 1 {
            GemmVector.run(kind: kind, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                           alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                           threads: threads)
            return
        }
        GemmBlocked.run(kind: kind, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                        alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                        threads: threads)
    }

    /// C = beta · C (beta == 0 writes zeros without reading C).
    static func scale(m: Int, n: Int, beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 {
                row.update(repeating: 0, count: n)
            } else if beta != 1 {
                for j in 0..<n { row[j] *= beta }
            }
        }
    }

    /// Whether sgemm runs on OpenBLAS (LATTE_BLAS=openblas and the library loaded).
    public static var routesToOpenBLAS: Bool { useOpenBLAS && OpenBLAS.shared != nil }

    /// LATTE_BLAS=openblas routes sgemm to OpenBLAS when it loads (read once).
    static let useOpenBLAS: Bool = {
        guard let raw = getenv("LATTE_BLAS") else { return false }
        return String(cString: raw).lowercased() == "openblas"
    }()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
