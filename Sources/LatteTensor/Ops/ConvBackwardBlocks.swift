import LatteKernels

// conv2d's backward over cache-sized blocks of output rows, each thread owning whole images.
//
// The chunked backward (Convolution.swift) streams the whole batch's column matrix (c·kh·kw floats
// per output pixel) through a 32 MB buffer three times (im2col, dW GEMM, dX GEMM + col2im), which is
// memory-bound for the small autoencoder's convs. Here each task takes a range of whole images (so its
// col2im writes touch no other task's dX rows) and walks it in blocks of a few output rows whose
// column tile stays in L2; every task accumulates its own dW, summed in task order at the end so the
// result does not depend on scheduling.

extension ConvGeometry {
    /// Tests set this to false to run the chunked backward for comparison.
    nonisolated(unsafe) static var blockedBackward = true

    /// Floats of the per-task column tile (512 KiB: half of a Zen 4 L2, with dY's tile beside it).
    nonisolated(unsafe) static var backwardTileBudget = 1 << 17

    /// Whether the blocked backward applies: enough images to give every thread its own.
    func usesBlockedBackward(threads: Int) -> Bool {
        Self.blockedBackward && n >= threads
    }

    /// dX (added into `gx`, [n, c, h, w], zeroed by the caller) and dW (written to `gw`, [o, cg, kh, kw])
    /// from dY `g` [n, o, oh, ow], input `x` and weight `w`, over `tasks` ranges of whole images.
    func backwardBlocked(g: UnsafePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                         gx: UnsafeMutablePointer<Float>, gw: UnsafeMutablePointer<Float>, tasks: Int) {
        let weightSize = o * colRows
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: tasks * weightSize)
        acc.initialize(repeating: 0, count: tasks * weightSize)
        defer { acc.deallocate() }
        let rowsPerBlock = Swift.max(1, Swift.min(totalRows, Self.backwardTileBudget / Swift.max(1, c * kh * kw * ow)))
        let work: (Int) -> Void = { t in
            let r0 = n * t / tasks * oh, r1 = n * (t + 1) / tasks * oh
            if r0 >= r1 { return }
            let maxWidth = Swift.min(rowsPerBlock, r1 - r0) * ow
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: c * kh * kw * maxWidth)
            let gTile = UnsafeMutablePointer<Float>.allocate(capacity: o * maxWidth)
            defer { cols.deallocate(); gTile.deallocate() }
            let dW = acc + t * weightSize
            var r = r0
            while r < r1 {
                let count = Swift.min(rowsPerBlock, r1 - r), width = count * ow
                for oc in 0..<o { gatherRows(g, channel: oc, rows: r, count: count, into: gTile + oc * width) }
                for ci in 0..<c { im2col(x, channel: ci, rows: r, count: count, cols) }
                for gi in 0..<groups {
                    // dW += dY · colsᵀ
                    Gemm.sgemm(transposeA: false, transposeB: true, m: og, n: colRows, k: width, alpha: 1,
                               a: gTile + gi * og * width, lda: width, b: cols + gi * colRows * width, ldb: width,
                               beta: 1, c: dW + gi * og * colRows, ldc: colRows)
                }
                for gi in 0..<groups {
                    // dcols = Wᵀ · dY, in place of the columns, then folded into dX
                    Gemm.sgemm(transposeA: true, transposeB: false, m: colRows, n: width, k: og, alpha: 1,
                               a: w + gi * og * colRows, lda: colRows, b: gTile + gi * og * width, ldb: width,
                               beta: 0, c: cols + gi * colRows * width, ldc: width)
                }
                for ci in 0..<c { col2im(cols, channel: ci, rows: r, count: count, gx) }
                r += count
            }
        }
        if tasks == 1 { work(0) } else { Parallel.forEach(tasks, work) }
        gw.update(from: acc, count: weightSize)
        for t in 1..<Swift.max(1, tasks) {
            let src = acc + t * weightSize
            for e in 0..<weightSize { gw[e] += src[e] }
        }
    }
}
