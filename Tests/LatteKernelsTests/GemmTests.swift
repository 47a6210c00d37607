import XCTest
@testable import LatteKernels

final class GemmTests: XCTestCase {
    /// Every family this CPU can run (generic always; avx2 and avx512 where supported).
    var kernels: [GemmKernel] { GemmKernel.allCases.filter(\.isSupported) }

    override func tearDown() {
        Gemm.kernelOverride = nil
    }

    /// Runs one sgemm configuration against the double reference; C has a padded leading
    /// dimension whose padding must stay untouched, and holds NaN when beta == 0.
    func check(
        _ m: Int, _ n: Int, _ k: Int, transposeA: Bool, transposeB: Bool, alpha: Float, beta: Float,
        pad: Int = 3, threads: Int = 1, seed: UInt64 = 1, file: StaticString = #filePath, line: UInt = #line
    ) {
        var random = TestRandom(seed: seed &+ UInt64(m * 1_000_003 + n * 1009 + k))
        let a = transposeA ? StoredMatrix(rows: k, cols: m, pad: pad, random: &random)
            : StoredMatrix(rows: m, cols: k, pad: pad, random: &random)
        let b = transposeB ? StoredMatrix(rows: n, cols: k, pad: pad, random: &random)
            : StoredMatrix(rows: k, cols: n, pad: pad, random: &random)
        let ldc = n + pad
        var c = random.fill(m * ldc)
        if beta == 0 { for i in 0..<m { for j in 0..<n { c[i * ldc + j] = .nan } } }
        let original = c
        let ref = referenceGemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                a: a.values, lda: a.ld, b: b.values, ldb: b.ld, beta: beta, c: c, ldc: ldc)
        Parallel.withThreadCount(threads) {
            a.values.withUnsafeBufferPointer { ap in
                b.values.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { cp in
                        Gemm.sgemm(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                                   a: ap.baseAddress!, lda: a.ld, b: bp.baseAddress!, ldb: b.ld,
                                   beta: beta, c: cp.baseAddress!, ldc: ldc)
                    }
                }
            }
        }
        var worst = 0.0
        for i in 0..<m {
            for j in 0..<n {
                let got = Double(c[i * ldc + j])
                let err = abs(got - ref.value[i * n + j])
                let tol = gemmTolerance(k: k, magnitude: ref.magnitude[i * n + j])
                if !(err <= tol) {
                    XCTFail("\(Gemm.kernel) m=\(m) n=\(n) k=\(k) tA=\(transposeA) tB=\(transposeB) alpha=\(alpha) "
                            + "beta=\(beta) threads=\(threads): C[\(i),\(j)] = \(got), expected \(ref.value[i * n + j])",
                            file: file, line: line)
                    return
                }
                worst = max(worst, err)
            }
            for j in n..<ldc where c[i * ldc + j].bitPattern != original[i * ldc + j].bitPattern {
                XCTFail("padding C[\(i),\(j)] was written", file: file, line: line)
                return
            }
        }
    }

    /// Shapes: 1, odd, primes, exact micro-tile multiples, and sizes past KC=256, MC=128, NC=480.
    let shapes: [(Int, Int, Int)] = [
        (1, 1, 1), (2, 3, 1), (7, 13, 5), (8, 48, 16), (6, 16, 8), (9, 49, 31), (13, 17, 19),
        (31, 37, 41), (17, 97, 300), (64, 64, 64), (130, 50, 23), (5, 500, 7), (3, 2, 513),
    ]

    func testEveryKernelAllTransposesAgainstReference() {
        for kernel in kernels {
            Gemm.kernelOverride = kernel
            for (m, n, k) in shapes {
                for transposeA in [false, true] {
                    for transposeB in [false, true] {
                        check(m, n, k, transposeA: transposeA, transposeB: transposeB, alpha: 1, beta: 0)
                        check(m, n, k, transposeA: transposeA, transposeB: transposeB, alpha: -0.75, beta: 1.5,
                              pad: 0)
                    }
                }
            }
        }
    }

    func testTwoThreadsSplitColumnsAndRows() {
        for kernel in kernels {
            Gemm.kernelOverride = kernel
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    // Many column panels: threads split N and share packed A.
                    check(70, 530, 90, transposeA: transposeA, transposeB: transposeB, alpha: 1, beta: 0, threads: 2)
                    // Few column panels, many rows: threads split M.
                    check(301, 40, 170, transposeA: transposeA, transposeB: transposeB, alpha: 0.5, beta: -1,
                          threads: 2)
                }
            }
        }
    }

    func testThreeThreadsUnevenSplit() {
        Gemm.kernelOverride = nil
        check(83, 301, 260, transposeA: false, transposeB: true, alpha: 1, beta: 0.25, threads: 3)
    }

    /// Threads split output tiles, never the sum over k, so every thread count gives the same bits —
    /// what lets data-parallel ranks with other thread counts train the same model (docs/distributed.md).
    /// Shapes that split columns (wide N), rows (tall M), both transposes, and a ragged edge.
    func testResultsDoNotDependOnTheThreadCount() {
        for kind in kernels {
            Gemm.kernelOverride = kind
            for (m, n, k, tA, tB) in [(48, 1100, 300, false, true), (700, 40, 520, true, false), (130, 97, 257, false, false)] {
                var random = TestRandom(seed: UInt64(m * 31 + n))
                let a = random.fill(m * k), b = random.fill(k * n)
                func product(threads: Int) -> [Float] {
                    var c = [Float](repeating: 0, count: m * n)
                    Parallel.withThreadCount(threads) {
                        Gemm.sgemm(transposeA: tA, transposeB: tB, m: m, n: n, k: k, alpha: 1, a: a, lda: tA ? m : k,
                                   b: b, ldb: tB ? k : n, beta: 0, c: &c, ldc: n)
                    }
                    return c
                }
                let one = product(threads: 1)
                for threads in [2, 3, 4] {
                    XCTAssertTrue(product(threads: threads) == one, "\(kind) \(m)×\(n)×\(k): \(threads) threads differ from 1")
                }
            }
        }
    }

    func testDegenerateKAndAlphaScaleC() {
        check(5, 6, 0, transposeA: false, transposeB: false, alpha: 1, beta: 0)
        check(5, 6, 0, transposeA: false, transposeB: true, alpha: 1, beta: 2)
        check(5, 6, 4, transposeA: true, transposeB: false, alpha: 0, beta: 0.5)
    }

    func testVectorPathsEveryKernel() {
        for kernel in kernels {
            Gemm.kernelOverride = kernel
            for transposeA in [false, true] {
                for transposeB in [false, true] {
                    for (m, n, k) in [(1, 1, 1), (1, 3, 7), (1, 37, 61), (1, 129, 17), (5, 1, 33), (67, 1, 19),
                                      (1, 700, 300), (700, 1, 300)] {
                        for threads in [1, 2] {
                            check(m, n, k, transposeA: transposeA, transposeB: transposeB, alpha: 1, beta: 0,
                                  threads: threads)
                            check(m, n, k, transposeA: transposeA, transposeB: transposeB, alpha: 2, beta: -0.5,
                                  threads: threads)
                        }
                    }
                }
            }
        }
    }
}
