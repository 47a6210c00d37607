import XCTest
@testable import LatteKernels

/// The float64 A·Bᵀ kernel against a plain triple loop, over shapes that hit every tile tail (rows not a
/// multiple of the 4- or 2-row tile, columns not a multiple of 4 or of the 64-row block, k not a multiple
/// of the vector width or of the 256-wide panel). CI reruns this suite under LATTE_KERNELS=avx2 and generic.
final class Float64GemmTests: XCTestCase {
    func testMatchesNaiveProductAcrossTails() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Double {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(Int64(bitPattern: state >> 11) % 2001 - 1000) / 997
        }
        for (m, n, k) in [(1, 1, 1), (3, 5, 7), (4, 4, 8), (5, 9, 13), (66, 70, 300), (64, 129, 513), (7, 65, 256)] {
            let a = (0..<(m * k)).map { _ in next() }, b = (0..<(n * k)).map { _ in next() }
            var c = [Double](repeating: .nan, count: m * n)   // overwritten, never read
            a.withUnsafeBufferPointer { ap in
                b.withUnsafeBufferPointer { bp in
                    c.withUnsafeMutableBufferPointer { Float64Gemm.multiplyTransposed(ap.baseAddress!, bp.baseAddress!, into: $0.baseAddress!, m: m, n: n, k: k) }
                }
            }
            var worst = 0.0
            for i in 0..<m {
                for j in 0..<n {
                    var s = 0.0, magnitude = 0.0
                    for p in 0..<k { s += a[i * k + p] * b[j * k + p]; magnitude += abs(a[i * k + p] * b[j * k + p]) }
                    worst = max(worst, abs(c[i * n + j] - s) / max(magnitude, 1e-300))
                }
            }
            XCTAssertLessThan(worst, 1e-14, "\(m)×\(n)×\(k): relative error \(worst)")
        }
    }
}
