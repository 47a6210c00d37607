// Matrix-vector products for m == 1 (decode: y = W·x with W [N, K]) and n == 1. Packing would cost
// as much as the product itself here, so the kernels stream the matrix directly; they are
// memory-bound, and the threads split the output range. The rows layout (every Linear at decode) runs
// latte_gemv_rowwise, which reads W in address order (latte_gemv.h says why that doubles the speed).
import CLatteKernels

enum GemmVector {
    /// Below this many matrix elements one thread wins.
    static let parallelElements = 1 << 16

    static func run(
        kind: GemmKernel, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads: Int
    ) {
        // Output y (length `outputs`, stride `yStride`), vector x (length k, stride `xStride`), and
        // the matrix either "rows" (y[j] = row_j · x, rows k-contiguous) or "cols" (y = xᵀ·Mat).
        let outputs: Int, yStride: Int, x: UnsafePointer<Float>, xStride: Int
        let matrix: UnsafePointer<Float>, ld: Int, rowsLayout: Bool
        if m == 1 {
            outputs = n; yStride = 1
            x = a; xStride = transposeA ? lda : 1          // op(A) row 0
            matrix = b; ld = ldb; rowsLayout = transposeB  // B = Wᵀ with W [n, k]
        } else {
            outputs = m; yStride = ldc
            x = b; xStride = transposeB ? 1 : ldb          // op(B) column 0
            matrix = a; ld = lda; rowsLayout = !transposeA // A [m, k]
        }

        var xs = x
        if xStride != 1 && k > 1 {
            guard let buf = latte_gemm_scratch(2, k) else { fatalError("sgemv: out of memory") }
            for p in 0..<k { buf[p] = x[p * xStride] }
            xs = UnsafePointer(buf)
        }
        var y = c
        if yStride != 1 && outputs > 1 {
            guard let buf = latte_gemm_scratch(3, outputs) else { fatalError("sgemv: out of memory") }
            if beta != 0 { for j in 0..<outputs { buf[j] = c[j * yStride] } }
            y = buf
        }

        let work = outputs * k
        // Rows are split in groups of 4 (whole cache lines of y per task); columns in groups of 64.
        let grain = rowsLayout ? 4 : 64
        let groups = (outputs + grain - 1) / grain
        // Several tasks per thread, claimed dynamically, so a descheduled thread's share moves on.
        let tasks = work < parallelElements || threads == 1 ? 1 : max(1, min(threads * 4, groups))
        let xv = xs, yv = y
        let body: (Int) -> Void = { task in
            let j0 = min(outputs, groups * task / tasks * grain)
            let j1 = min(outputs, groups * (task + 1) / tasks * grain)
            if j0 >= j1 { return }
            if rowsLayout {
                latte_gemv_rowwise(kind.rawValue, j1 - j0, k, matrix + j0 * ld, ld, xv, yv + j0, alpha, beta)
            } else {
                latte_gemv_cols(kind.rawValue, k, j1 - j0, matrix + j0, ld, xv, yv + j0, alpha, beta)
            }
        }
        if tasks == 1 { body(0) } else { Parallel.forEach(tasks, body) }

        if y != c {
            for j in 0..<outputs { c[j * yStride] = y[j] }
        }
    }
}
