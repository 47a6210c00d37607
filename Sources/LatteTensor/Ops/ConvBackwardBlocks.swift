import LatteKernels

// conv2d's backward over cache-sized blocks of output rows, each partition of the batch owning whole images.
//
// The chunked backward (Convolution.swift) streams the whole batch's column matrix (c·kh·kw floats
// per output pixel) through a 32 MB buffer three times (im2col, dW GEMM, dX GEMM + col2im), which is
// memory-bound for the small autoencoder's convs. Here the batch is cut into a fixed number of
// partitions of whole images (so a partition's col2im writes touch no other's dX rows); each walks its
// images in blocks of a few output rows whose column tile stays in L2 and accumulates its own dW, and
// the partitions' dW are summed in partition order at the end.
//
// The partitions are fixed by the batch size, never by the thread count (it used to be one per
// thread), so dW has the same bits at any `--threads`: what lets 1 rank × 2 threads and 2 ranks × 1
// thread train the same autoencoder (docs/distributed.md). Two partitions, as many as the thread count
// gave on the 2-core machine the committed autoencoders were trained on, so their runs reproduce. With
// at most as many threads as partitions the partitions run side by side, single-threaded; with more,
// one after another, each spreading its independent outputs (channels, GEMM tiles) over the threads —
// the same sums in the same order either way.

extension ConvGeometry {
    /// Tests set this to false to run the chunked backward for comparison.
    nonisolated(unsafe) static var blockedBackward = true

    /// Floats of the per-task column tile (512 KiB: half of a Zen 4 L2, with dY's tile beside it).
    nonisolated(unsafe) static var backwardTileBudget = 1 << 17

    /// Ranges of whole images whose dW are accumulated apart and then summed in order.
    static let weightGradientPartitions = 2

    /// Whether the blocked backward applies: every partition gets an image. A single image takes the
    /// chunked backward, whatever the thread count (as a batch of 1 at 2 threads always did).
    var usesBlockedBackward: Bool {
        Self.blockedBackward && n >= Self.weightGradientPartitions
    }

    /// dX (added into `gx`, [n, c, h, w], zeroed by the caller) and dW (written to `gw`, [o, cg, kh, kw])
    /// from dY `g` [n, o, oh, ow], input `x` and weight `w`, over `weightGradientPartitions` ranges of
    /// whole images; `threads` only decides how the same work is scheduled.
    func backwardBlocked(g: UnsafePointer<Float>, x: UnsafePointer<Float>, w: UnsafePointer<Float>,
                         gx: UnsafeMutablePointer<Float>, gw: UnsafeMutablePointer<Float>, threads: Int) {
        let tasks = Self.weightGradientPartitions
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
                // Each channel's rows are its own: serial inside the side-by-side partitions, spread
                // over the threads when the partitions run one after another.
                Parallel.forEach(o) { oc in gatherRows(g, channel: oc, rows: r, count: count, into: gTile + oc * width) }
                Parallel.forEach(c) { ci in im2col(x, channel: ci, rows: r, count: count, cols) }
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
                Parallel.forEach(c) { ci in col2im(cols, channel: ci, rows: r, count: count, gx) }
                r += count
            }
        }
        if threads > tasks {
            for t in 0..<tasks { work(t) }
        } else {
            Parallel.forEach(tasks, work)
        }
        gw.update(from: acc, count: weightSize)
        for t in 1..<Swift.max(1, tasks) {
            let src = acc + t * weightSize
            for e in 0..<weightSize { gw[e] += src[e] }
        }
    }
}
