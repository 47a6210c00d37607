// The packed, cache-blocked GEMM driver (GotoBLAS / BLIS loop structure).
//
//   pack all of op(A) once, shared by the threads      (M×K floats; each element packed once;
//                                                       a row-major A is read in place instead)
//   per thread, over its own column (or row) range:
//     jc: NC columns                                   B block KC×NC stays in L2 across ic
//       pc: KC deep   → pack B block (thread-local)
//         ic: MC rows → C macro-kernel (C):             jr over NR-wide B panels,
//                                                       ir over MR-tall A panels, micro-kernel
//
// Packing A up front, instead of per (jc, pc, ic) block as BLIS does, matters for the shapes that
// dominate here (M ≤ 256 tokens, N up to 8960): A would otherwise be re-packed N/NC times. The
// loops over blocks stay in Swift; the sweep over micro-tiles is in C (one call per block) so no
// per-tile call overhead crosses the language boundary.
import CLatteKernels

enum GemmBlocked {
    /// Depth of a packed block: A panel (MR×KC = 8 KiB) in L1, B panel (KC×NR) in L1/L2.
    static let kc = 256
    /// Rows of A swept per B block: A block MC×KC = 128 KiB in L2.
    static let mc = 128
    /// Columns per B block: KC×NC = 480 KiB in L2 (a multiple of every NR: 48 and 16).
    static let nc = 480
    /// Below this many flops one thread wins (dispatch and split overheads dominate).
    static let parallelFlops = 2_000_000
    /// Tasks per thread in a parallel phase (dynamic load balancing).
    static let tasksPerThread = 4

    static func run(
        kind: GemmKernel, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
        a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
        beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int, threads requested: Int,
        packedB: GemmPackedWeight? = nil
    ) {
        // A pre-packed B (`GemmPackedWeight`, op(B) = Wᵀ) supplies every block's panels: nothing to pack.
        assert(packedB == nil || (packedB!.kind == kind && packedB!.n == n && packedB!.k == k && transposeB))
        let mr = kind.mr, nr = kind.nr
        let mPanels = (m + mr - 1) / mr, nPanels = (n + nr - 1) / nr
        let mPad = mPanels * mr
        let flops = 2 * m * n * k
        let threads = flops < parallelFlops ? 1 : max(1, min(requested, max(mPanels, nPanels)))

        // A row-major op(A) (X in X·Wᵀ, dY in dY·W) is read in place by the micro-kernel: its rows
        // are contiguous in k, so each of the MR broadcasts per step streams one row, and skipping the
        // pack removes a serial phase before the threads start. A transposed op(A) is packed: for each
        // KC block (offset pc·mPad), mPanels panels of MR×kcb.
        let packsA = transposeA
        guard let ap = packsA ? latte_gemm_scratch(0, mPad * k) : UnsafeMutablePointer(mutating: a) else {
            fatalError("sgemm: out of memory for packed A")
        }
        let kBlocks = (k + kc - 1) / kc
        // More tasks than threads: indices are claimed dynamically, so a thread that the OS
        // deschedules (other processes share these cores) leaves its share to the others.
        let packTasks = threads == 1 ? 1 : min(mPanels, threads * tasksPerThread)
        let packA: (Int) -> Void = { task in
            // Tasks split the panels of every K block evenly.
            let p0 = mPanels * task / packTasks, p1 = mPanels * (task + 1) / packTasks
            if p0 == p1 { return }
            for kb in 0..<kBlocks {
                let pc = kb * kc, kcb = min(kc, k - pc)
                let row0 = p0 * mr
                let rows = min(m, p1 * mr) - row0
                let src = transposeA ? a + pc * lda + row0 : a + row0 * lda + pc
                latte_gemm_pack_a(kind.rawValue, transposeA ? 1 : 0, src, lda, rows, kcb,
                                  ap + pc * mPad + p0 * mr * kcb)
            }
        }
        if !packsA {
            // Nothing to pack.
        } else if threads == 1 || mPad * k < 1 << 18 {
            // A small A (e.g. 64 tokens) packs faster on this thread than a dispatch round-trip.
            for task in 0..<packTasks { packA(task) }
        } else {
            Parallel.forEach(packTasks, packA)
        }

        // Split N when it has enough panels (threads then share all of packed A and pack
        // disjoint parts of B); otherwise split M (each thread packs all of B, which is small then).
        let splitN = nPanels >= 2 * threads || nPanels >= mPanels
        // N tasks share packed A and pack disjoint parts of B, so finer tasks cost nothing extra.
        // With few panels (N = 576 is 12 panels of 48) every task is one panel: equal tasks split
        // evenly between threads, where 8 tasks of 1 or 2 panels could end 7:5. M tasks each pack
        // all of B, so they stay one per thread.
        let tasks = threads == 1 ? 1
            : !splitN ? threads
            : nPanels <= threads * 2 * tasksPerThread ? nPanels : threads * tasksPerThread
        let compute: (Int) -> Void = { task in
            var rowStart = 0, rowEnd = m, colStart = 0, colEnd = n
            if splitN {
                colStart = min(n, nPanels * task / tasks * nr)
                colEnd = min(n, nPanels * (task + 1) / tasks * nr)
            } else {
                rowStart = min(m, mPanels * task / tasks * mr)
                rowEnd = min(m, mPanels * (task + 1) / tasks * mr)
            }
            if rowStart >= rowEnd || colStart >= colEnd { return }
            let ncMax = min(nc, colEnd - colStart)
            let ncPad = (ncMax + nr - 1) / nr * nr
            let scratch = packedB != nil ? nil : latte_gemm_scratch(1, ncPad * min(kc, k))
            if packedB == nil && scratch == nil { fatalError("sgemm: out of memory for packed B") }
            var jc = colStart
            while jc < colEnd {
                let ncb = min(nc, colEnd - jc)
                var pc = 0
                while pc < k {
                    let kcb = min(kc, k - pc)
                    let bp: UnsafePointer<Float>
                    if let packedB {
                        bp = packedB.panels(depthOffset: pc, depth: kcb, column: jc)
                    } else {
                        let src = transposeB ? b + jc * ldb + pc : b + pc * ldb + jc
                        latte_gemm_pack_b(kind.rawValue, transposeB ? 1 : 0, src, ldb, kcb, ncb, scratch!)
                        bp = UnsafePointer(scratch!)
                    }
                    // The first K block applies beta; later ones accumulate onto it.
                    let blockBeta: Float = pc == 0 ? beta : 1
                    var ic = rowStart
                    while ic < rowEnd {
                        let mcb = min(mc / mr * mr, rowEnd - ic)
                        if packsA {
                            latte_gemm_macro(kind.rawValue, mcb, ncb, kcb, ap + pc * mPad + ic * kcb, 1, mr, mr * kcb,
                                             bp, c + ic * ldc + jc, ldc, alpha, blockBeta)
                        } else {
                            latte_gemm_macro(kind.rawValue, mcb, ncb, kcb, a + ic * lda + pc, lda, 1, mr * lda,
                                             bp, c + ic * ldc + jc, ldc, alpha, blockBeta)
                        }
                        ic += mcb
                    }
                    pc += kcb
                }
                jc += ncb
            }
        }
        if threads == 1 {
            compute(0)
        } else {
            Parallel.forEach(tasks, compute)
        }
    }
}
