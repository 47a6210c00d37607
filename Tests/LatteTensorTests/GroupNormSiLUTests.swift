import Foundation
import XCTest
import LatteKernels
@testable import LatteTensor

/// Tensor.groupNormSiLU: the fused inference pass against a float64 loop (shapes with 1 and several
/// channels per group, spatial sizes off the 8-float vectors, with and without the affine), and with
/// a gradient recorded it still differentiates like the composed ops.
final class GroupNormSiLUTests: XCTestCase {
    func reference(_ x: [Float], n: Int, c: Int, spatial: Int, groups: Int, w: [Float]?, b: [Float]?, eps: Float) -> [Float] {
        let cg = c / groups, len = cg * spatial
        var y = [Float](repeating: 0, count: x.count)
        for row in 0..<(n * groups) {
            let base = row * len
            var mean = 0.0
            for i in 0..<len { mean += Double(x[base + i]) }
            mean /= Double(len)
            var variance = 0.0
            for i in 0..<len { variance += (Double(x[base + i]) - mean) * (Double(x[base + i]) - mean) }
            variance /= Double(len)
            let inv = 1 / (variance + Double(eps)).squareRoot()
            for i in 0..<len {
                let ch = (row % groups) * cg + i / spatial
                let v = (Double(x[base + i]) - mean) * inv * Double(w?[ch] ?? 1) + Double(b?[ch] ?? 0)
                y[base + i] = Float(v / (1 + Foundation.exp(-v)))
            }
        }
        return y
    }

    func testFusedPassMatchesFloat64Loop() {
        let cases: [(n: Int, c: Int, h: Int, w: Int, groups: Int)] = [
            (2, 32, 8, 8, 32), (3, 64, 5, 7, 32), (1, 6, 3, 3, 2), (2, 4, 1, 13, 1), (1, 8, 17, 9, 4),
        ]
        for (index, s) in cases.enumerated() {
            let x = randomTensor([s.n, s.c, s.h, s.w], seed: UInt64(200 + index), scale: 3) + 0.7
            let w = randomTensor([s.c], seed: UInt64(300 + index)), b = randomTensor([s.c], seed: UInt64(400 + index))
            for affine in [true, false] {
                let y = Tensor.groupNormSiLU(x, groups: s.groups, weight: affine ? w : nil, bias: affine ? b : nil, eps: 1e-6)
                let ref = reference(x.toArray(), n: s.n, c: s.c, spatial: s.h * s.w, groups: s.groups,
                                    w: affine ? w.toArray() : nil, b: affine ? b.toArray() : nil, eps: 1e-6)
                XCTAssertEqual(y.shape, x.shape)
                assertClose(y.toArray(), ref, tolerance: 2e-5)
                let composed = Tensor.groupNorm(x, groups: s.groups, weight: affine ? w : nil, bias: affine ? b : nil, eps: 1e-6).silu()
                assertClose(y.toArray(), composed.toArray(), tolerance: 2e-5)
            }
        }
    }

    func testGradientStillFlowsWhenRecorded() {
        let x = randomTensor([2, 8, 4, 5], seed: 9), w = randomTensor([8], seed: 10), b = randomTensor([8], seed: 11)
        let gy = randomTensor([2, 8, 4, 5], seed: 12)
        let (_, fused) = valueAndGradient(at: [x, w, b]) { t in
            (Tensor.groupNormSiLU(t[0], groups: 4, weight: t[1], bias: t[2], eps: 1e-5) * gy).sum()
        }
        let (_, composed) = valueAndGradient(at: [x, w, b]) { t in
            (Tensor.groupNorm(t[0], groups: 4, weight: t[1], bias: t[2], eps: 1e-5).silu() * gy).sum()
        }
        XCTAssertEqual(fused.count, 3)
        for i in 0..<3 { assertClose(fused[i].toArray(), composed[i].toArray(), tolerance: 1e-5) }
    }
}
