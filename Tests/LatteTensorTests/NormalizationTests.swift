import XCTest
import LatteKernels
@testable import LatteTensor

final class NormalizationTests: XCTestCase {
    func testSoftmax() {
        let x = randomTensor([3, 7], seed: 1, scale: 3)
        let y = x.softmax()
        for r in 0..<3 { XCTAssertEqual(y.toArray()[(r * 7)..<(r * 7 + 7)].reduce(0, +), 1, accuracy: 1e-6) }
        assertClose(x.logSoftmax().toArray(), y.log().toArray(), tolerance: 1e-5)
        // All −∞ row → zeros, not NaN; other axes.
        XCTAssertEqual(Tensor([-.infinity, -.infinity]).softmax().toArray(), [0, 0])
        assertClose(x.softmax(axis: 0).T.toArray(), x.T.softmax(axis: -1).toArray())
        assertGradientsMatch([x]) { $0[0].softmax() }
        assertGradientsMatch([x]) { $0[0].softmax(axis: 0) }
        assertGradientsMatch([x]) { $0[0].logSoftmax() }
    }

    func testRMSNorm() {
        let x = randomTensor([4, 6], seed: 2), w = randomTensor([6], seed: 3)
        let y = Tensor.rmsNorm(x, weight: w, eps: 1e-5).toArray()
        let xv = x.toArray(), wv = w.toArray()
        for r in 0..<4 {
            let row = xv[(r * 6)..<(r * 6 + 6)]
            let inv = 1 / (row.map { $0 * $0 }.reduce(0, +) / 6 + 1e-5).squareRoot()
            for j in 0..<6 { XCTAssertEqual(y[r * 6 + j], xv[r * 6 + j] * inv * wv[j], accuracy: 1e-5) }
        }
        assertGradientsMatch([x, w]) { Tensor.rmsNorm($0[0], weight: $0[1], eps: 1e-5) }
        assertGradientsMatch([x]) { Tensor.rmsNorm($0[0], weight: nil, eps: 1e-5) }
    }

    func testLayerNorm() {
        let x = randomTensor([3, 8], seed: 4), w = randomTensor([8], seed: 5), b = randomTensor([8], seed: 6)
        let y = Tensor.layerNorm(x, weight: w, bias: b, eps: 1e-5)
        let ref = ((x - x.mean(axes: [1], keepDims: true)) * (x.variance(axes: [1], keepDims: true) + 1e-5).rsqrt() * w + b)
        assertClose(y.toArray(), ref.toArray(), tolerance: 1e-5)
        assertGradientsMatch([x, w, b]) { Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) }
    }

    /// The weight (and bias) gradients are sums over rows taken in chunks; the chunks depend on the
    /// rows only, so any thread count gives the same bits (data-parallel runs on ranks with other
    /// thread counts train the same model). 1,024 rows of 64 would have been split per thread.
    func testNormWeightGradientsDoNotDependOnTheThreadCount() {
        let x = randomTensor([1024, 64], seed: 11), w = randomTensor([64], seed: 12), b = randomTensor([64], seed: 13)
        let r = randomTensor([1024, 64], seed: 14)
        func gradients(threads: Int) -> [[Float]] {
            Parallel.withThreadCount(threads) {
                let rms = valueAndGradient(at: [x, w]) { (Tensor.rmsNorm($0[0], weight: $0[1], eps: 1e-5) * r).sum() }.1
                let layer = valueAndGradient(at: [x, w, b]) { (Tensor.layerNorm($0[0], weight: $0[1], bias: $0[2], eps: 1e-5) * r).sum() }.1
                return (rms + layer).map { $0.toArray() }
            }
        }
        let one = gradients(threads: 1)
        for threads in [2, 3, 4] { XCTAssertEqual(gradients(threads: threads), one, "\(threads) threads") }
    }

    func testGroupNorm() {
        let x = randomTensor([2, 4, 3, 3], seed: 7), w = randomTensor([4], seed: 8), b = randomTensor([4], seed: 9)
        let y = Tensor.groupNorm(x, groups: 2, weight: w, bias: b, eps: 1e-6)
        // Reference: normalise each (n, group) block of 2·3·3 values, then the per-channel affine.
        let xv = x.toArray(), wv = w.toArray(), bv = b.toArray(), yv = y.toArray()
        for n in 0..<2 { for g in 0..<2 {
            let start = (n * 4 + g * 2) * 9
            let block = xv[start..<(start + 18)].map(Double.init)
            let mean = block.reduce(0, +) / 18
            let v = block.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / 18
            for i in 0..<18 {
                let c = g * 2 + i / 9
                let ref = Float((block[i] - mean) / (v + 1e-6).squareRoot()) * wv[c] + bv[c]
                XCTAssertEqual(yv[start + i], ref, accuracy: 1e-5)
            }
        } }
        assertGradientsMatch([x, w, b]) { Tensor.groupNorm($0[0], groups: 2, weight: $0[1], bias: $0[2], eps: 1e-6) }
    }
}
