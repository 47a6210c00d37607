import LatteKernels

/// Copies between strided layouts. Views (permute, slice, expand) are free; this is where their cost
/// is paid, once, when an op needs dense rows.
enum StridedCopy {
    /// Copies `count(shape)` elements of `elementSize` bytes from a strided source into a dense
    /// row-major destination.
    static func gather(shape: [Int], srcStrides: [Int], src: UnsafeRawPointer, dst: UnsafeMutableRawPointer, elementSize: Int) {
        let n = Shape.count(shape)
        if n == 0 { return }
        // Drop size-1 dimensions and merge dimensions that are contiguous with each other.
        var dims: [(size: Int, stride: Int)] = []
        for (s, st) in zip(shape, srcStrides) where s != 1 {
            if let last = dims.last, last.stride == st * s {
                dims[dims.count - 1] = (last.size * s, st)
            } else {
                dims.append((s, st))
            }
        }
        if dims.isEmpty { dst.copyMemory(from: src, byteCount: elementSize); return }
        let inner = dims.removeLast()
        let outerCount = n / inner.size
        let rank = dims.count
        let sizes = dims.map(\.size), strides = dims.map(\.stride)
        let rowBytes = inner.size * elementSize

        func copyRows(_ start: Int, _ end: Int) {
            var index = [Int](repeating: 0, count: rank)
            var rem = start
            var srcOffset = 0
            for d in stride(from: rank - 1, through: 0, by: -1) {
                index[d] = rem % sizes[d]; rem /= sizes[d]
                srcOffset += index[d] * strides[d]
            }
            for row in start..<end {
                let s = src + srcOffset * elementSize
                let d = dst + row * rowBytes
                if inner.stride == 1 {
                    d.copyMemory(from: s, byteCount: rowBytes)
                } else if elementSize == 4 {
                    let sp = s.assumingMemoryBound(to: UInt32.self), dp = d.assumingMemoryBound(to: UInt32.self)
                    for j in 0..<inner.size { dp[j] = sp[j * inner.stride] }
                } else {
                    for j in 0..<inner.size {
                        (d + j * elementSize).copyMemory(from: s + j * inner.stride * elementSize, byteCount: elementSize)
                    }
                }
                // Advance the multi-index (odometer).
                var d2 = rank - 1
                while d2 >= 0 {
                    index[d2] += 1
                    srcOffset += strides[d2]
                    if index[d2] < sizes[d2] { break }
                    srcOffset -= strides[d2] * sizes[d2]
                    index[d2] = 0
                    d2 -= 1
                }
            }
        }
        if n >= 1 << 16 && outerCount >= 2 {
            let chunks = Swift.min(outerCount, Parallel.threadCount * 4)
            Parallel.forEach(chunks) { c in copyRows(outerCount * c / chunks, outerCount * (c + 1) / chunks) }
        } else {
            copyRows(0, outerCount)
        }
    }
}

/// Splits 0..<n into chunks run on the kernel thread pool when n is large enough to pay for it.
@inline(__always)
func parallelRanges(_ n: Int, minChunk: Int = 1 << 15, _ body: (Int, Int) -> Void) {
    let threads = Parallel.threadCount
    if n < 2 * minChunk || threads <= 1 { body(0, n); return }
    let chunks = Swift.min(threads, n / minChunk)
    Parallel.forEach(chunks) { c in body(n * c / chunks, n * (c + 1) / chunks) }
}
