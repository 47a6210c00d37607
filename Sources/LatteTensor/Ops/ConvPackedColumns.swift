import LatteKernels

// conv2d's forward as an implicit GEMM: the batch's output columns (global row · ow + ox) are cut
// into blocks of a few GEMM panels; for each block, im2col writes the block's column matrix straight
// into the micro-kernel's packed panel layout (in L2), the GEMM multiplies the weights by it into a
// small per-thread tile, and the tile is scattered into the output with the bias. No full column
// matrix is ever stored, read back and repacked (three passes over C·kh·kw floats per output pixel
// through memory before), which dominated the small-channel convs of the small autoencoder.

/// One run of a block's columns: within one output row (image i, row oy) and one packed panel.
struct ConvColumnRun {
    var imageOffset: Int  // i · c · h · w
    var outputOffset: Int // i · o · oh · ow + oy · ow + ox0 (channel 0)
    var oy: Int
    var ox0: Int
    var count: Int
    var local: Int        // column index within the block
    var packed: Int       // q · NR · kc + lane: the run's first element in packed row 0
}

extension ConvGeometry {
    /// Columns per block: whole panels, at most 480 columns (GemmBlocked's NC) and small enough that
    /// the output tile o × block stays near 256 KiB.
    func packedBlockColumns(nr: Int) -> Int {
        let byTile = (1 << 16) / Swift.max(1, o)
        return Swift.max(nr, Swift.min(480, byTile) / nr * nr)
    }

    /// The runs of columns col0 ..< col0 + count, split at output rows and at panels of `nr`.
    func columnRuns(col0: Int, count: Int, nr: Int, kc: Int, into runs: inout [ConvColumnRun]) {
        runs.removeAll(keepingCapacity: true)
        var col = col0
        let end = col0 + count
        while col < end {
            let (row, ox0) = col.quotientAndRemainder(dividingBy: ow)
            let (i, oy) = row.quotientAndRemainder(dividingBy: oh)
            let local = col - col0
            let lane = local % nr
            let len = Swift.min(end - col, ow - ox0, nr - lane)
            runs.append(ConvColumnRun(imageOffset: i * c * h * w, outputOffset: i * o * oh * ow + oy * ow + ox0,
                                      oy: oy, ox0: ox0, count: len, local: local,
                                      packed: (local / nr) * nr * kc + lane))
            col += len
        }
    }

    /// Writes im2col rows kk0 ..< kk0 + kc of group `g` for the block's `runs` into `bp`, packed in
    /// panels of `nr` columns (row r of a panel at r·nr); lanes past `count` in the last panel are zeroed.
    func packColumns(_ x: UnsafePointer<Float>, group g: Int, kk0: Int, kc: Int, runs: [ConvColumnRun],
                     count: Int, nr: Int, into bp: UnsafeMutablePointer<Float>) {
        let taps = kh * kw
        let tail = count % nr
        if tail != 0 {
            let last = bp + (count / nr) * nr * kc
            for r in 0..<kc { (last + r * nr + tail).update(repeating: 0, count: nr - tail) }
        }
        runs.withUnsafeBufferPointer { runs in
            for r in 0..<kc {
                let kk = kk0 + r
                let ci = g * cg + kk / taps, ky = (kk % taps) / kw, kx = kk % kw
                let channel = x + ci * h * w
                let (lo, hi) = validColumns(kx)
                for run in runs {
                    let dst = bp + run.packed + r * nr
                    let iy = run.oy * stride - padding + ky
                    let a = Swift.max(run.ox0, lo), b = Swift.min(run.ox0 + run.count, hi)
                    if iy < 0 || iy >= h || a >= b {
                        fillZero(dst, run.count)
                        continue
                    }
                    fillZero(dst, a - run.ox0)
                    let src = channel + run.imageOffset + iy * w - padding + kx
                    if stride == 1 {
                        copyFloats(dst + (a - run.ox0), src + a, b - a)
                    } else {
                        for ox in a..<b { dst[ox - run.ox0] = src[ox * stride] }
                    }
                    fillZero(dst + (b - run.ox0), run.ox0 + run.count - b)
                }
            }
        }
    }

    /// conv2d forward over the whole batch (see the file comment); `out` is [n, o, oh, ow].
    func forwardPacked(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                       out: UnsafeMutablePointer<Float>) {
        let kind = Gemm.kernel
        let nr = kind.nr
        let k = colRows
        // K blocks of at most 256 (the B panel kc×NR stays in L1/L2), as even as possible.
        let kBlocks = (k + 255) / 256
        let kc = (k + kBlocks - 1) / kBlocks
        let block = packedBlockColumns(nr: nr)
        let totalCols = totalRows * ow
        let blocks = (totalCols + block - 1) / block
        let work: (Int) -> Void = { bi in
            let col0 = bi * block, count = Swift.min(block, totalCols - col0)
            let panels = (count + nr - 1) / nr
            let bp = GemmPackedB.scratch(slot: 1, count: panels * nr * kc)
            let tile = GemmPackedB.scratch(slot: 0, count: o * block)
            var runs: [ConvColumnRun] = []
            runs.reserveCapacity(2 * count / Swift.max(1, Swift.min(ow, nr)) + 4)
            for g in 0..<groups {
                var pc = 0
                while pc < k {
                    let kcb = Swift.min(kc, k - pc)
                    columnRuns(col0: col0, count: count, nr: nr, kc: kcb, into: &runs)
                    packColumns(x, group: g, kk0: pc, kc: kcb, runs: runs, count: count, nr: nr, into: bp)
                    GemmPackedB.multiply(kind: kind, m: og, n: count, k: kcb, a: weight + g * og * k + pc, lda: k,
                                         packedB: bp, beta: pc == 0 ? 0 : 1, c: tile + g * og * block, ldc: block)
                    pc += kcb
                }
            }
            // Scatter the tile [o, block] into out, adding the bias.
            for oc in 0..<o {
                let bv = bias?[oc] ?? 0
                let src = tile + oc * block, chan = oc * oh * ow
                for run in runs { copyFloats(out + run.outputOffset + chan, src + run.local, run.count, adding: bv) }
            }
        }
        if blocks == 1 || Parallel.isInsideParallelRegion || Parallel.threadCount == 1 {
            for bi in 0..<blocks { work(bi) }
        } else {
            Parallel.forEach(blocks, work)
        }
    }
}

// Runs here are short (an output row of 8–64 pixels cut at 48-column panels), so the compiler's
// vector loop plus scalar remainder spends most of its time in the remainder. These copy in 8-float
// vectors and finish with one vector overlapping the previous one (same values written twice).

@inline(__always)
func copyFloats(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ n: Int, adding bias: Float = 0) {
    let bias8 = SIMD8<Float>(repeating: bias), bias4 = SIMD4<Float>(repeating: bias)
    if n >= 8 {
        var t = 0
        while t + 8 <= n {
            UnsafeMutableRawPointer(d + t).storeBytes(of: UnsafeRawPointer(s + t).loadUnaligned(as: SIMD8<Float>.self) + bias8, as: SIMD8<Float>.self)
            t += 8
        }
        if t < n {
            UnsafeMutableRawPointer(d + n - 8).storeBytes(of: UnsafeRawPointer(s + n - 8).loadUnaligned(as: SIMD8<Float>.self) + bias8, as: SIMD8<Float>.self)
        }
    } else if n >= 4 {
        UnsafeMutableRawPointer(d).storeBytes(of: UnsafeRawPointer(s).loadUnaligned(as: SIMD4<Float>.self) + bias4, as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(d + n - 4).storeBytes(of: UnsafeRawPointer(s + n - 4).loadUnaligned(as: SIMD4<Float>.self) + bias4, as: SIMD4<Float>.self)
    } else {
        var t = 0
        while t < n { d[t] = s[t] + bias; t += 1 }
    }
}

@inline(__always)
func fillZero(_ d: UnsafeMutablePointer<Float>, _ n: Int) {
    if n >= 8 {
        var t = 0
        while t + 8 <= n {
            UnsafeMutableRawPointer(d + t).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self)
            t += 8
        }
        if t < n { UnsafeMutableRawPointer(d + n - 8).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self) }
    } else if n >= 4 {
        UnsafeMutableRawPointer(d).storeBytes(of: SIMD4<Float>(), as: SIMD4<Float>.self)
        UnsafeMutableRawPointer(d + n - 4).storeBytes(of: SIMD4<Float>(), as: SIMD4<Float>.self)
    } else {
        var t = 0
        while t < n { d[t] = 0; t += 1 }
    }
}

/// d[0..<n] += s[0..<n] in 8-float vectors (no overlapping tail: each element is added once).
@inline(__always)
func addFloats(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ n: Int) {
    var t = 0
    while t + 8 <= n {
        let v = UnsafeRawPointer(d + t).loadUnaligned(as: SIMD8<Float>.self) + UnsafeRawPointer(s + t).loadUnaligned(as: SIMD8<Float>.self)
        UnsafeMutableRawPointer(d + t).storeBytes(of: v, as: SIMD8<Float>.self)
        t += 8
    }
    while t < n { d[t] += s[t]; t += 1 }
}
