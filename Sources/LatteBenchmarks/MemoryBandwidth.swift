import Foundation
import LatteKernels

/// The streaming-read bandwidth of this machine at the current thread count: every thread sums its
/// share of a buffer far larger than the caches, best of a few passes. Decoding one token reads every
/// weight once, so bytes of weights ÷ this is the fastest decode the memory allows, measured in the
/// same run (and under the same load) as the decode it is compared with.
public enum MemoryBandwidth {
    /// Bytes per second reading `bytes` (rounded to whole 256-byte lines) with `Parallel.threadCount` threads.
    public static func streamingRead(bytes: Int = 512 << 20, passes: Int = 3) -> Double {
        let lines = max(1, bytes / 256)
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: lines * 256, alignment: 64)
        defer { buffer.deallocate() }
        // Touch every page first (and give the floats values), so the passes time reads only.
        buffer.initializeMemory(as: Float.self, repeating: 1, count: lines * 64)
        let threads = max(1, Parallel.threadCount)
        var best = Double.infinity
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: threads)
        defer { sums.deallocate() }
        for _ in 0..<passes {
            let start = DispatchTime.now().uptimeNanoseconds
            Parallel.forEach(threads) { t in
                let l0 = lines * t / threads, l1 = lines * (t + 1) / threads
                sums[t] = sumLines(UnsafeRawPointer(buffer) + l0 * 256, count: l1 - l0)
            }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        // The sums are read so the loop cannot be dropped.
        precondition((0..<threads).reduce(Float(0)) { $0 + sums[$1] }.isFinite, "bandwidth sums overflowed")
        return Double(lines * 256) / best
    }

    /// Σ of `count` 256-byte lines as floats, four independent vector accumulators.
    private static func sumLines(_ p: UnsafeRawPointer, count: Int) -> Float {
        let v = p.assumingMemoryBound(to: SIMD16<Float>.self)
        var a = SIMD16<Float>(), b = SIMD16<Float>(), c = SIMD16<Float>(), d = SIMD16<Float>()
        for i in 0..<count {
            a += v[4 * i]; b += v[4 * i + 1]; c += v[4 * i + 2]; d += v[4 * i + 3]
        }
        return (a + b + c + d).sum()
    }
}
