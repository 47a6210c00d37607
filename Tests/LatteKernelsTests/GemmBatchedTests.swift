import XCTest
@testable import LatteKernels

final class GemmBatchedTests: XCTestCase {
    /// Runs sgemmBatched and checks each item against the double reference of that item alone.
    func checkBatched(
        batch: Int, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool, shareA: Bool, shareB: Bool,
        beta: Float, threads: Int, file: StaticString = #filePath, line: UInt = #line
    ) {
        var random = TestRandom(seed: UInt64(batch * 31 + m * 7 + n * 3 + k))
        let aRows = transposeA ? k : m, aCols = transposeA ? m : k
        let bRows = transposeB ? n : k, bCols = transposeB ? k : n
        let strideA = shareA ? 0 : aRows * aCols, strideB = shareB ? 0 : bRows * bCols
        let a = random.fill(aRows * aCols * (shareA ? 1 : batch))
        let b = random.fill(bRows * bCols * (shareB ? 1 : batch))
        var c = random.fill(batch * m * n)
        if beta == 0 { for i in c.indices { c[i] = .nan } }
        let before = c
        Parallel.withThreadCount(threads) {
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        Gemm.sgemmBatched(
                            transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1.25,
                            a: ap.baseAddress!, lda: aCols, strideA: strideA, b: bp.baseAddress!, ldb: bCols,
                            strideB: strideB, beta: beta, c: cp.baseAddress!, ldc: n, strideC: m * n, batch: batch)
                    }
                }
            }
        }
        for item in 0..<batch {
            let ai = Array(a[(item * strideA)..<(item * strideA + aRows * aCols)])
            let bi = Array(b[(item * strideB)..<(item * strideB + bRows * bCols)])
            let ci = Array(before[(item * m * n)..<((item + 1) * m * n)])
            let ref = referenceGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 1.25,
                                    a: ai, lda: aCols, b: bi, ldb: bCols, beta: beta, c: ci, ldc: n)
            for e in 0..<(m * n) {
                let err = abs(Double(c[item * m * n + e]) - ref.value[e])
                if !(err <= gemmTolerance(k: k, magnitude: ref.magnitude[e])) {
                    XCTFail("batch item \(item) element \(e): \(c[item * m * n + e]) vs \(ref.value[e]) "
                            + "(shareA=\(shareA) shareB=\(shareB) tA=\(transposeA) tB=\(transposeB))",
                            file: file, line: line)
                    return
                }
            }
        }
    }

    func testSharedWeightBecomesOneGemm() {
        // Stride 0 for B with stacked A and C: the single-GEMM path.
        checkBatched(batch: 5, m: 9, n: 50, k: 33, transposeA: false, transposeB: true, shareA: false, shareB: true,
                     beta: 0, threads: 2)
    }

    func testSharedOperandsAndTransposes() {
        for (shareA, shareB) in [(false, false), (true, false), (false, true)] {
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    checkBatched(batch: 7, m: 11, n: 13, k: 17, transposeA: transposeA, transposeB: transposeB,
                                 shareA: shareA, shareB: shareB, beta: 0.5, threads: 2)
                }
            }
        }
    }

    func testManyAttentionSizedItemsInParallel() {
        // Heads of attention: Q·Kᵀ (transposeB) and P·V, as a scaled-down 24 × 64×16×64.
        checkBatched(batch: 24, m: 64, n: 64, k: 16, transposeA: false, transposeB: true, shareA: false,
                     shareB: false, beta: 0, threads: 2)
        checkBatched(batch: 24, m: 64, n: 16, k: 64, transposeA: false, transposeB: false, shareA: false,
                     shareB: false, beta: 0, threads: 2)
    }
}
