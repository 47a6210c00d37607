import LatteKernels

// 2-D convolution by im2col + GEMM, and nearest-neighbour upsampling.

/// Geometry of one conv2d call.
struct ConvGeometry {
    let n, c, h, w: Int           // input
    let o, kh, kw: Int            // output channels, kernel
    let stride, padding, groups: Int
    var oh: Int { (h + 2 * padding - kh) / stride + 1 }
    var ow: Int { (w + 2 * padding - kw) / stride + 1 }
    var cg: Int { c / groups }    // input channels per group
    var og: Int { o / groups }    // output channels per group
    var colRows: Int { cg * kh * kw }

    /// Unfolds image `x` [c, h, w] channels of group `g` into cols [cg·kh·kw, oh·ow].
    func im2col(_ x: UnsafePointer<Float>, group g: Int, _ cols: UnsafeMutablePointer<Float>) {
        let ohw = oh * ow
        for ci in 0..<cg {
            let plane = x + (g * cg + ci) * h * w
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let row = cols + ((ci * kh + ky) * kw + kx) * ohw
                    for oy in 0..<oh {
                        let iy = oy * stride - padding + ky
                        let dst = row + oy * ow
                        if iy < 0 || iy >= h { dst.update(repeating: 0, count: ow); continue }
                        let src = plane + iy * w
                        for ox in 0..<ow {
                            let ix = ox * stride - padding + kx
                            dst[ox] = (ix >= 0 && ix < w) ? src[ix] : 0
                        }
                    }
                }
            }
        }
    }

    /// Adds cols [cg·kh·kw, oh·ow] back into image `dx` [c, h, w] (the adjoint of im2col).
    func col2im(_ cols: UnsafePointer<Float>, group g: Int, _ dx: UnsafeMutablePointer<Float>) {
        let ohw = oh * ow
        for ci in 0..<cg {
            let plane = dx + (g * cg + ci) * h * w
            for ky in 0..<kh {
                for kx in 0..<kw {
                    let row = cols + ((ci * kh + ky) * kw + kx) * ohw
                    for oy in 0..<oh {
                        let iy = oy * stride - padding + ky
                        if iy < 0 || iy >= h { continue }
                        let dst = plane + iy * w
                        for ox in 0..<ow {
                            let ix = ox * stride - padding + kx
                            if ix >= 0 && ix < w { dst[ix] += row[oy * ow + ox] }
                        }
                    }
                }
            }
        }
    }
}

extension Tensor {
    /// Cross-correlation as torch.nn.functional.conv2d: x [N, C, H, W], weight [O, C/groups, kh, kw],
    /// bias [O].
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
        let ohw = geo.oh * geo.ow
        let b = bias?.toFloat32().contiguous()
        let pointwise = geo.kh == 1 && geo.kw == 1 && stride == 1 && padding == 0
        withExtendedLifetime((xc, wc, b)) {
            let cols = UnsafeMutablePointer<Float>.allocate(capacity: pointwise ? 1 : geo.colRows * ohw)
            defer { cols.deallocate() }
            for i in 0..<geo.n {
                for g in 0..<groups {
                    let img = xc.f32 + i * geo.c * geo.h * geo.w
                    let colPtr: UnsafePointer<Float>
                    if pointwise { colPtr = UnsafePointer(img + g * geo.cg * ohw) } else { geo.im2col(img, group: g, cols); colPtr = UnsafePointer(cols) }
                    Gemm.sgemm(transposeA: false, transposeB: false, m: geo.og, n: ohw, k: geo.colRows, alpha: 1,
                               a: wc.f32 + g * geo.og * geo.colRows, lda: geo.colRows, b: colPtr, ldb: ohw,
                               beta: 0, c: out.f32 + (i * geo.o + g * geo.og) * ohw, ldc: ohw)
                }
                if let b {
                    for oc in 0..<geo.o { let p = out.f32 + (i * geo.o + oc) * ohw; let v = b.f32[oc]; for j in 0..<ohw { p[j] += v } }
                }
            }
        }
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        let (xd, wd) = (xc.detached(), wc.detached())
        return Tensor.record(out, inputs) { gOut in
            let g = gOut.contiguous()
            let gx = Tensor.zeros(x.shape), gw = Tensor.zeros(weight.shape)
            withExtendedLifetime((g, xd, wd)) {
                let cols = UnsafeMutablePointer<Float>.allocate(capacity: geo.colRows * ohw)
                defer { cols.deallocate() }
                for i in 0..<geo.n {
                    let img = xd.f32 + i * geo.c * geo.h * geo.w
                    for gi in 0..<groups {
                        let gp = g.f32 + (i * geo.o + gi * geo.og) * ohw
                        // dW += dY · colsᵀ
                        geo.im2col(img, group: gi, cols)
                        Gemm.sgemm(transposeA: false, transposeB: true, m: geo.og, n: geo.colRows, k: ohw, alpha: 1,
                                   a: gp, lda: ohw, b: cols, ldb: ohw, beta: 1, c: gw.f32 + gi * geo.og * geo.colRows, ldc: geo.colRows)
                        // dcols = Wᵀ · dY, folded back into dX
                        Gemm.sgemm(transposeA: true, transposeB: false, m: geo.colRows, n: ohw, k: geo.og, alpha: 1,
                                   a: wd.f32 + gi * geo.og * geo.colRows, lda: geo.colRows, b: gp, ldb: ohw, beta: 0, c: cols, ldc: ohw)
                        geo.col2im(cols, group: gi, gx.f32 + i * geo.c * geo.h * geo.w)
                    }
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
