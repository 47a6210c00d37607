import LatteKernels

// FoldedConv's forward as an implicit GEMM over the [C, N, H, W] batch. Output column
// j = (image·OH + oy)·OW + ox is also the element's offset inside its output channel, so the GEMM
// writes C straight into the activation (ldc = N·OH·OW), or into a concatenation's row block. The
// columns are cut into blocks of whole GEMM panels; per block and K block, the im2col rows are
// written directly in the micro-kernel's packed panel layout (no column matrix is stored and then
// packed again: two passes over C·kh·kw floats per output pixel, which cost as much as the multiply
// in the 32- and 64-channel stem), the folded weights are read in place, and bias + ReLU run over
// the block while it is still in L2 instead of as a separate sweep through memory.

/// A run of a block's columns inside one output row (image, oy) and one packed panel.
struct InceptionColumnRun {
    var image: Int      // image · H · W: the run's input plane offset inside a channel
    var oy: Int
    var ox0: Int
    var count: Int
    var panel: Int      // packed panel index within the block
    var lane: Int       // first lane inside that panel
}

extension FoldedConv {
    var isPointwise: Bool { kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padH == 0 && padW == 0 }

    /// Output columns per block: whole panels, at most 480 (GemmBlocked's NC), and few enough that the
    /// O × block output tile stays near 512 KiB for the bias + ReLU pass.
    func blockColumns(nr: Int) -> Int {
        max(nr, min(480, (1 << 17) / max(1, o)) / nr * nr)
    }

    /// Writes relu(conv(x) + b) into `out` (e.g. a concatenation's channel block).
    func forward(_ x: Activation, into out: Activation) {
        let (oh, ow) = outputSize(x)
        precondition(out.c == o && out.n == x.n && out.h == oh && out.w == ow,
                     "conv output is [\(o), \(x.n), \(oh), \(ow)], target is [\(out.c), \(out.n), \(out.h), \(out.w)]")
        withExtendedLifetime(out.data) { forward(x, into: out.pointer) }
    }

    /// Writes relu(conv(x) + b) as [O, N, OH, OW] at `dst` (channel rows N·OH·OW apart).
    func forward(_ x: Activation, into dst: UnsafeMutablePointer<Float>) {
        precondition(x.c == c, "conv expects \(c) channels, got \(x.c)")
        let (oh, ow) = outputSize(x)
        let total = x.n * oh * ow
        let kind = Gemm.kernel, nr = kind.nr
        let k = c * kh * kw
        // K blocks of at most 256 (a packed B panel kc × NR stays in L1/L2), as even as possible.
        let kBlocks = (k + 255) / 256
        let kc = (k + kBlocks - 1) / kBlocks
        let block = blockColumns(nr: nr)
        let blocks = (total + block - 1) / block
        let pointwise = isPointwise
        withExtendedLifetime((weight, bias, x.data)) {
            let w = weight.f32, b = bias.f32, src = x.pointer
            let work: (Int) -> Void = { bi in
                let col0 = bi * block, count = min(block, total - col0)
                let panels = (count + nr - 1) / nr
                let bp = GemmPackedB.scratch(slot: 1, count: panels * nr * kc)
                var runs: [InceptionColumnRun] = []
                if !pointwise { runs = columnRuns(col0: col0, count: count, oh: oh, ow: ow, imageSize: x.h * x.w, nr: nr) }
                var pc = 0
                while pc < k {
                    let kcb = min(kc, k - pc)
                    if pointwise {
                        Self.packRows(src + pc * total + col0, ld: total, rows: kcb, count: count, nr: nr, into: bp)
                    } else {
                        packColumns(x, kk0: pc, kc: kcb, runs: runs, count: count, nr: nr, into: bp)
                    }
                    GemmPackedB.multiply(kind: kind, m: o, n: count, k: kcb, a: w + pc, lda: k, packedB: bp,
                                         beta: pc == 0 ? 0 : 1, c: dst + col0, ldc: total)
                    pc += kcb
                }
                for oc in 0..<o { Self.biasClamp(dst + oc * total + col0, count, b[oc], lower, upper) }
            }
            if blocks == 1 || Parallel.isInsideParallelRegion || Parallel.threadCount == 1 {
                for bi in 0..<blocks { work(bi) }
            } else {
                Parallel.forEach(blocks, work)
            }
        }
    }

    /// The runs of columns col0 ..< col0 + count, split at output rows and at panels of `nr`.
    func columnRuns(col0: Int, count: Int, oh: Int, ow: Int, imageSize: Int, nr: Int) -> [InceptionColumnRun] {
        var runs: [InceptionColumnRun] = []
        runs.reserveCapacity(count / max(1, min(ow, nr)) + 2 * (count / nr) + 2)
        var col = col0
        let end = col0 + count
        while col < end {
            let (row, ox0) = col.quotientAndRemainder(dividingBy: ow)
            let (image, oy) = row.quotientAndRemainder(dividingBy: oh)
            let local = col - col0
            let lane = local % nr
            let len = min(end - col, ow - ox0, nr - lane)
            runs.append(InceptionColumnRun(image: image * imageSize, oy: oy, ox0: ox0, count: len, panel: local / nr, lane: lane))
            col += len
        }
        return runs
    }

    /// im2col rows kk0 ..< kk0 + kc (row (ci·kh + ky)·kw + kx) for the block's runs, written in packed
    /// panels of `nr` columns (panel p at p·nr·kc, row r of it at r·nr); lanes past `count` are zero.
    func packColumns(_ x: Activation, kk0: Int, kc: Int, runs: [InceptionColumnRun], count: Int, nr: Int,
                     into bp: UnsafeMutablePointer<Float>) {
        let tail = count % nr
        if tail != 0 {
            let last = bp + (count / nr) * nr * kc
            for r in 0..<kc { zeroFloats(last + r * nr + tail, nr - tail) }
        }
        let (h, w, channelSize) = (x.h, x.w, x.channelSize)
        let (sh, sw, ph, pw, taps) = (strideH, strideW, padH, padW, kh * kw)
        let ow = (w + 2 * pw - kw) / sw + 1
        let src = x.pointer
        runs.withUnsafeBufferPointer { runs in
            for r in 0..<kc {
                let kk = kk0 + r
                let ci = kk / taps, ky = (kk % taps) / kw, kx = kk % kw
                let channel = src + ci * channelSize
                // Output columns whose input column ox·sw − pw + kx lies inside the image.
                let lo = max(0, (pw - kx + sw - 1) / sw)
                let hi = w - 1 + pw - kx < 0 ? 0 : min(ow, (w - 1 + pw - kx) / sw + 1)
                for run in runs {
                    let d = bp + run.panel * nr * kc + r * nr + run.lane
                    let iy = run.oy * sh - ph + ky
                    let a = max(run.ox0, lo), bnd = min(run.ox0 + run.count, hi)
                    if iy < 0 || iy >= h || a >= bnd {
                        zeroFloats(d, run.count)
                        continue
                    }
                    zeroFloats(d, a - run.ox0)
                    let line = channel + run.image + iy * w - pw + kx
                    if sw == 1 {
                        copyFloats(d + (a - run.ox0), line + a, bnd - a)
                    } else {
                        for ox in a..<bnd { d[ox - run.ox0] = line[ox * sw] }
                    }
                    zeroFloats(d + (bnd - run.ox0), run.ox0 + run.count - bnd)
                }
            }
        }
    }

    /// A 1×1 convolution's B block is the input itself: rows of `count` contiguous floats, `ld` apart,
    /// copied into packed panels of `nr` (lanes past `count` zero).
    static func packRows(_ src: UnsafePointer<Float>, ld: Int, rows: Int, count: Int, nr: Int,
                         into bp: UnsafeMutablePointer<Float>) {
        let panels = (count + nr - 1) / nr
        for q in 0..<panels {
            let width = min(nr, count - q * nr)
            let panel = bp + q * nr * rows
            var s = src + q * nr
            for r in 0..<rows {
                let d = panel + r * nr
                copyFloats(d, s, width)
                if width < nr { zeroFloats(d + width, nr - width) }
                s += ld
            }
        }
    }

    /// x = clamp(x + bias, lower, upper) over n floats: ReLU (0, ∞) for Inception, ReLU6 or none for
    /// EfficientNet-Lite. (Lane selects, not `pointwiseMax`/`pointwiseMin`: Swift 6.3 lowers those to a
    /// scalar loop through the stack, which made this pass cost half as much as the GEMM.)
    static func biasClamp(_ x: UnsafeMutablePointer<Float>, _ n: Int, _ bias: Float, _ lower: Float, _ upper: Float) {
        let b = SIMD16<Float>(repeating: bias)
        var i = 0
        while i + 16 <= n {
            var v = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self) + b
            v.replace(with: lower, where: v .< lower)
            v.replace(with: upper, where: v .> upper)
            UnsafeMutableRawPointer(x + i).storeBytes(of: v, as: SIMD16<Float>.self)
            i += 16
        }
        while i < n { x[i] = min(max(x[i] + bias, lower), upper); i += 1 }
    }
}

// Runs are short (an output row of 8–147 pixels cut at 48-column panels); these move 8-float vectors
// and finish with one vector overlapping the previous one, instead of a long scalar remainder.

@inline(__always)
func copyFloats(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ n: Int) {
    if n >= 8 {
        var t = 0
        while t + 8 <= n {
            UnsafeMutableRawPointer(d + t).storeBytes(of: UnsafeRawPointer(s + t).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            t += 8
        }
        if t < n {
            UnsafeMutableRawPointer(d + n - 8).storeBytes(of: UnsafeRawPointer(s + n - 8).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
        }
    } else {
        var t = 0
        while t < n { d[t] = s[t]; t += 1 }
    }
}

@inline(__always)
func zeroFloats(_ d: UnsafeMutablePointer<Float>, _ n: Int) {
    if n >= 8 {
        var t = 0
        while t + 8 <= n {
            UnsafeMutableRawPointer(d + t).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self)
            t += 8
        }
        if t < n { UnsafeMutableRawPointer(d + n - 8).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self) }
    } else {
        var t = 0
        while t < n { d[t] = 0; t += 1 }
    }
}
