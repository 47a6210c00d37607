import XCTest
@testable import LatteKernels

/// `GemmPackedWeight`: a weight packed once gives the same products as sgemm packing it on every call —
/// bit for bit from two rows and columns up (the same micro-kernel sums in the same order; one row or column takes sgemm's
/// GEMV path instead, so it is checked against the float64 reference) — for every kernel family,
/// shapes with tails past every blocking size, both beta cases, one and two threads.
final class GemmPackedWeightTests: XCTestCase {
    override func tearDown() { Gemm.kernelOverride = nil }

    /// (m, n, k): tails of MR/NR, k past KC = 256 (two depth blocks and a tail), n past NC = 480.
    let shapes: [(Int, Int, Int)] = [(1, 33, 17), (2, 7, 5), (5, 100, 300), (9, 49, 31), (64, 497, 513), (130, 50, 256), (3, 1, 40)]

    func product(m: Int, n: Int, k: Int, a: [Float], w: StoredMatrix, c: [Float], beta: Float, packed: GemmPackedWeight?, threads: Int) -> [Float] {
        var out = c
        Parallel.withThreadCount(threads) {
            a.withUnsafeBufferPointer { ap in
                w.values.withUnsafeBufferPointer { wp in
                    out.withUnsafeMutableBufferPointer { cp in
                        if let packed {
                            Gemm.sgemm(m: m, a: ap.baseAddress!, lda: k, packedWeight: packed, beta: beta, c: cp.baseAddress!, ldc: n)
                        } else {
                            Gemm.sgemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: ap.baseAddress!, lda: k,
                                       b: wp.baseAddress!, ldb: w.ld, beta: beta, c: cp.baseAddress!, ldc: n)
                        }
                    }
                }
            }
        }
        return out
    }

    func testPackedEqualsPerCallPackingForEveryFamily() {
        for kernel in GemmKernel.allCases where kernel.isSupported {
            Gemm.kernelOverride = kernel
            for (m, n, k) in shapes {
                var random = TestRandom(seed: UInt64(m * 7919 + n * 31 + k))
                let w = StoredMatrix(rows: n, cols: k, pad: 3, random: &random)
                let a = random.fill(m * k), c = random.fill(m * n)
                let packed = w.values.withUnsafeBufferPointer { GemmPackedWeight(weight: $0.baseAddress!, n: n, k: k, ld: w.ld) }
                XCTAssertEqual(packed.kind, kernel)
                XCTAssertEqual(packed.byteCount, (n + kernel.nr - 1) / kernel.nr * kernel.nr * k * 4)
                for beta: Float in [0, 1] {
                    let ref = referenceGemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k,
                                            b: w.values, ldb: w.ld, beta: beta, c: c, ldc: n)
                    for threads in [1, 2] {
                        let got = product(m: m, n: n, k: k, a: a, w: w, c: c, beta: beta, packed: packed, threads: threads)
                        for i in 0..<(m * n) {
                            let err = abs(Double(got[i]) - ref.value[i])
                            XCTAssertLessThanOrEqual(err, gemmTolerance(k: k, magnitude: ref.magnitude[i]),
                                                     "\(kernel) \(m)×\(n)×\(k) beta \(beta) threads \(threads) element \(i)")
                            if err > gemmTolerance(k: k, magnitude: ref.magnitude[i]) { return }
                        }
                        guard m > 1, n > 1 else { continue }   // one row or column: sgemm's GEMV path
                        let unpacked = product(m: m, n: n, k: k, a: a, w: w, c: c, beta: beta, packed: nil, threads: threads)
                        XCTAssertEqual(got.map(\.bitPattern), unpacked.map(\.bitPattern),
                                       "\(kernel) \(m)×\(n)×\(k) beta \(beta) threads \(threads): packed once ≠ packed per call")
                    }
                }
            }
        }
    }
}
