import CLatteKernels
import XCTest
@testable import LatteKernels

/// The row-at-a-time decode GEMVs of latte_gemv.h. Float32: every family this CPU runs against a
/// float64 reference, over widths that reach each of the kernels' loop tails (64-wide body, 16/8-wide
/// steps, masked or scalar remainder) and padded rows. Quantised: the refusals of bad arguments here;
/// the values, through `QuantizedGemv`, in QuantizedGemvTests (every family against float64 and the
/// portable kernel, odd and even block counts).
final class GemvRowwiseTests: XCTestCase {
    var kernels: [GemmKernel] { GemmKernel.allCases.filter(\.isSupported) }

    func testFloatEveryKernelAgainstFloat64() {
        XCTAssertTrue(kernels.contains(.generic))
        var random = TestRandom(seed: 21)
        let widths = [1, 7, 8, 15, 16, 17, 31, 33, 63, 64, 65, 79, 128, 130, 576, 583]
        for kernel in kernels {
            for k in widths {
                for (n, pad) in [(1, 0), (5, 3), (13, 0)] {
                    let w = StoredMatrix(rows: n, cols: k, pad: pad, random: &random)
                    let x = random.fill(k)
                    let old = random.fill(n)
                    for (alpha, beta) in [(Float(1), Float(0)), (-0.5, 2)] {
                        // beta == 0 must not read y: NaN there may not leak into the result.
                        var y = beta == 0 ? [Float](repeating: .nan, count: n) : old
                        latte_gemv_rowwise(kernel.rawValue, n, k, w.values, w.ld, x, &y, alpha, beta)
                        let ref = referenceGemm(transposeA: false, transposeB: false, m: n, n: 1, k: k, alpha: alpha,
                                                a: w.values, lda: w.ld, b: x, ldb: 1, beta: beta, c: old, ldc: 1)
                        for j in 0..<n {
                            XCTAssertEqual(Double(y[j]), ref.value[j], accuracy: gemmTolerance(k: k, magnitude: ref.magnitude[j]),
                                           "\(kernel.name) row \(j) of \(n)×\(k) (ld \(w.ld)) alpha \(alpha) beta \(beta)")
                        }
                    }
                }
            }
        }
    }

    /// A decode-sized product (SmolLM2's MLP width) through `Gemm.sgemm` with the Linear layout
    /// (m = 1, B = Wᵀ), split over two threads: each task's rows land where they belong.
    func testLinearLayoutThroughSgemmTwoThreads() {
        var random = TestRandom(seed: 22)
        let (n, k) = (1536, 576)
        let w = random.fill(n * k), x = random.fill(k)
        for kernel in kernels {
            Gemm.kernelOverride = kernel
            defer { Gemm.kernelOverride = nil }
            var y = [Float](repeating: .nan, count: n)
            Gemm.sgemm(transposeA: false, transposeB: true, m: 1, n: n, k: k, alpha: 1, a: x, lda: k, b: w, ldb: k,
                       beta: 0, c: &y, ldc: n, threads: 2)
            let ref = referenceGemm(transposeA: false, transposeB: false, m: n, n: 1, k: k, alpha: 1, a: w, lda: k,
                                    b: x, ldb: 1, beta: 0, c: [], ldc: 1)
            var worst = 0.0
            for j in 0..<n { worst = max(worst, abs(Double(y[j]) - ref.value[j]) / gemmTolerance(k: k, magnitude: ref.magnitude[j])) }
            XCTAssertLessThanOrEqual(worst, 1, "\(kernel.name): worst error \(worst) × tolerance")
        }
    }

    func testQuantizedRowwiseRejectsBadArguments() {
        var y: Float = 0
        let x = [Float](repeating: 1, count: 48)
        let w = [UInt8](repeating: 0, count: 64)
        w.withUnsafeBytes { w in
            XCTAssertEqual(latte_quant_gemv_rowwise(GemmKernel.generic.rawValue, QuantizedFormat.q8_0.rawValue, 1, 48,
                                                    w.baseAddress, 34, x, &y), -1, "k not a multiple of 32")
            XCTAssertEqual(latte_quant_gemv_rowwise(GemmKernel.generic.rawValue, 2, 1, 32, w.baseAddress, 34, x, &y), -1,
                           "unknown type")
        }
    }
}
