import LatteKernels

// 2-D convolution by im2col + GEMM, and nearest-neighbour upsampling.

extension Tensor {
    /// Cross-correlation as torch.nn.functional.conv2d: x [N, C, H, W], weight [O, C/groups, kh, kw],
    /// bias [O].
    ///
    /// The forward pass is an implicit GEMM over the whole batch's output pixels, im2col packing
    /// straight into the GEMM's panels block by block (ConvPackedColumns.swift): small images
    /// (8×8 latents, 32×32 pictures) still give enough blocks for every core, and memory stays
    /// bounded by a block. The backward pass is one GEMM per group over chunks of output rows (see
    /// `ConvGeometry`).
    public static func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor? = nil, stride: Int = 1, padding: Int = 0, groups: Int = 1) -> Tensor {
        precondition(x.rank == 4 && weight.rank == 4, "conv2d expects x [N, C, H, W] and weight [O, C/groups, kh, kw]")
        let geo = ConvGeometry(n: x.shape[0], c: x.shape[1], h: x.shape[2], w: x.shape[3],
                               o: weight.shape[0], kh: weight.shape[2], kw: weight.shape[3],
                               stride: stride, padding: padding, groups: groups)
        precondition(geo.c % groups == 0 && geo.o % groups == 0 && weight.shape[1] == geo.cg,
                     "conv2d: input channels \(geo.c), weight \(weight.shape) and groups \(groups) disagree")
        precondition(geo.oh > 0 && geo.ow > 0, "conv2d: kernel larger than padded input")
        let xc = x.toFloat32().contiguous(), wc = weight.toFloat32().contiguous()
        let out = Tensor.empty([geo.n, geo.o, geo.oh, geo.ow])
        let b = bias?.toFloat32().contiguous()
        withExtendedLifetime((xc, wc, b)) {
            let bp = b.map { UnsafePointer($0.f32) }
            if ConvGeometry.packedForward {
                geo.forwardPacked(x: xc.f32, weight: wc.f32, bias: bp, out: out.f32)
            } else {
                geo.forwardChunked(x: xc.f32, weight: wc.f32, bias: bp, out: out.f32)
            }
        }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        let (xd, wd) = (xc.detached(), wc.detached())
        return Tensor.record(out, inputs) { gOut in
            let g = gOut.contiguous()
            let gx = Tensor.zeros(x.shape), gw = Tensor.zeros(weight.shape)
            withExtendedLifetime((g, xd, wd)) {
                let threads = Parallel.isInsideParallelRegion ? 1 : Parallel.threadCount
                if geo.usesBlockedBackward {
                    geo.backwardBlocked(g: g.f32, x: xd.f32, w: wd.f32, gx: gx.f32, gw: gw.f32, threads: threads)
                    return
                }
                let chunk = geo.chunkRows()
                let cols = UnsafeMutablePointer<Float>.allocate(capacity: geo.c * geo.kh * geo.kw * chunk * geo.ow)
                let gTmp = UnsafeMutablePointer<Float>.allocate(capacity: geo.o * chunk * geo.ow)
                defer { cols.deallocate(); gTmp.deallocate() }
                for r0 in Swift.stride(from: 0, to: geo.totalRows, by: chunk) {
                    let count = Swift.min(chunk, geo.totalRows - r0), width = count * geo.ow
                    Parallel.forEach(geo.o) { oc in geo.gatherRows(g.f32, channel: oc, rows: r0, count: count, into: gTmp + oc * width) }
                    Parallel.forEach(geo.c) { ci in geo.im2col(xd.f32, channel: ci, rows: r0, count: count, cols) }
                    for gi in 0..<groups {
                        // dW += dY · colsᵀ
                        Gemm.sgemm(transposeA: false, transposeB: true, m: geo.og, n: geo.colRows, k: width, alpha: 1,
                                   a: gTmp + gi * geo.og * width, lda: width, b: cols + gi * geo.colRows * width, ldb: width,
                                   beta: 1, c: gw.f32 + gi * geo.og * geo.colRows, ldc: geo.colRows)
                    }
                    for gi in 0..<groups {
                        // dcols = Wᵀ · dY (reusing the column buffer), folded back into dX below
                        Gemm.sgemm(transposeA: true, transposeB: false, m: geo.colRows, n: width, k: geo.og, alpha: 1,
                                   a: wd.f32 + gi * geo.og * geo.colRows, lda: geo.colRows, b: gTmp + gi * geo.og * width, ldb: width,
                                   beta: 0, c: cols + gi * geo.colRows * width, ldc: width)
                    }
                    Parallel.forEach(geo.c) { ci in geo.col2im(cols, channel: ci, rows: r0, count: count, gx.f32) }
                }
            }
            var grads: [Tensor?] = [gx, gw]
            if bias != nil { grads.append(g.sum(axes: [0, 2, 3])) }
            return grads
        }
    }

    /// Nearest-neighbour upsampling of [N, C, H, W] by an integer factor.
    public func upsampledNearest(scale: Int) -> Tensor {
        precondition(rank == 4 && scale >= 1, "upsampledNearest expects [N, C, H, W] and scale ≥ 1")
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        let x = toFloat32().contiguous()
        let out = Tensor.empty([n, c, h * scale, w * scale])
        withExtendedLifetime(x) {
            for p in 0..<(n * c) {
                let src = x.f32 + p * h * w, dst = out.f32 + p * h * w * scale * scale
                for y in 0..<(h * scale) {
                    let srow = src + (y / scale) * w, drow = dst + y * w * scale
                    for xx in 0..<(w * scale) { drow[xx] = srow[xx / scale] }
                }
            }
        }
        return Tensor.record(out, [self]) { g in
            // Each input pixel receives the sum of its scale×scale block.
            [g.reshaped([n, c, h, scale, w, scale]).sum(axes: [3, 5])]
        }
    }
}
