import LatteKernels

// The previous conv2d forward (a full column matrix per chunk of output rows, one sgemm per group,
// then a scatter), kept so tests can check the implicit-GEMM forward against it and time both in one
// process (ConvBlockedTests).

extension ConvGeometry {
    /// Tests set this to false to run `forwardChunked` instead of `forwardPacked`.
    nonisolated(unsafe) static var packedForward = true

    func forwardChunked(x: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        out: UnsafeMutablePointer<Float>) {
        let chunk = chunkRows()
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: c * kh * kw * chunk * ow)
        let tmp = UnsafeMutablePointer<Float>.allocate(capacity: o * chunk * ow)
        defer { cols.deallocate(); tmp.deallocate() }
        for r0 in Swift.stride(from: 0, to: totalRows, by: chunk) {
            let count = Swift.min(chunk, totalRows - r0), width = count * ow
            Parallel.forEach(c) { ci in im2col(x, channel: ci, rows: r0, count: count, cols) }
            for g in 0..<groups {
                Gemm.sgemm(transposeA: false, transposeB: false, m: og, n: width, k: colRows, alpha: 1,
                           a: weight + g * og * colRows, lda: colRows, b: cols + g * colRows * width, ldb: width,
                           beta: 0, c: tmp + g * og * width, ldc: width)
            }
            Parallel.forEach(o) { oc in
                scatterRows(tmp + oc * width, channel: oc, rows: r0, count: count, into: out, bias: bias?[oc] ?? 0)
            }
        }
    }
}
