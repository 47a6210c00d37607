import XCTest
@testable import LatteTensor

final class ElementwiseTests: XCTestCase {
    func testBroadcastingForward() {
        let a = Tensor([1, 2, 3, 4, 5, 6], shape: [2, 3])
        let b = Tensor([10, 20, 30])
        XCTAssertEqual((a + b).toArray(), [11, 22, 33, 14, 25, 36])
        let col = Tensor([1, 2], shape: [2, 1])
        XCTAssertEqual((a * col).toArray(), [1, 2, 3, 8, 10, 12])
        XCTAssertEqual((col - b).shape, [2, 3])
        XCTAssertEqual((col - b).toArray(), [-9, -19, -29, -8, -18, -28])
        XCTAssertEqual((a / Tensor(2)).toArray(), [0.5, 1, 1.5, 2, 2.5, 3])
        // A transposed (strided) operand takes the general path.
        XCTAssertEqual((a.T + a.T).toArray(), [2, 8, 4, 10, 6, 12])
    }

    func testUnaryForwardAgainstFoundation() {
        let x = randomTensor([257], seed: 1, scale: 3)
        let v = x.toArray()
        assertClose(x.exp().toArray(), v.map { Foundation.exp($0) }, tolerance: 1e-6)
        assertClose(x.tanh().toArray(), v.map { Foundation.tanh($0) }, tolerance: 1e-6)
        assertClose(x.sigmoid().toArray(), v.map { (t: Float) -> Float in 1 / (1 + Foundation.exp(-t)) }, tolerance: 1e-6)
        assertClose(x.silu().toArray(), v.map { (t: Float) -> Float in t / (1 + Foundation.exp(-t)) }, tolerance: 1e-6)
        let geluRef: [Float] = v.map { (t: Float) -> Float in
            let e: Float = erf(t * 0.70710678)
            return 0.5 * t * (1 + e)
        }
        assertClose(x.gelu().toArray(), geluRef, tolerance: 1e-6)
        assertClose(x.abs().log().toArray(), v.map { Foundation.log(Swift.abs($0)) }, tolerance: 1e-6)
        assertClose(x.abs().rsqrt().toArray(), v.map { 1 / Swift.abs($0).squareRoot() }, tolerance: 1e-6)
        XCTAssertEqual(x.clamped(min: -1, max: 1).toArray(), v.map { Swift.min(Swift.max($0, -1), 1) })
    }

    func testBinaryGradients() {
        let a = randomTensor([3, 4], seed: 1), b = randomTensor([4], seed: 2)
        assertGradientsMatch([a, b]) { $0[0] + $0[1] }
        assertGradientsMatch([a, b]) { $0[0] - $0[1] }
        assertGradientsMatch([a, b]) { $0[0] * $0[1] }
        let c = randomTensor([3, 1], seed: 3).abs() + 0.5
        assertGradientsMatch([a, c]) { $0[0] / $0[1] }
        assertGradientsMatch([c, randomTensor([1, 4], seed: 4)]) { $0[0].pow($0[1]) }
        assertGradientsMatch([c]) { $0[0].pow(3) }
        assertGradientsMatch([a]) { ($0[0] * 2 + 1) - 3 * $0[0] / 4 }
    }

    func testUnaryGradients() {
        let x = randomTensor([2, 5], seed: 5)
        let positive = x.abs() + 0.3
        assertGradientsMatch([x]) { $0[0].exp() }
        assertGradientsMatch([positive]) { $0[0].log() }
        assertGradientsMatch([positive]) { $0[0].sqrt() }
        assertGradientsMatch([positive]) { $0[0].rsqrt() }
        assertGradientsMatch([x]) { $0[0].tanh() }
        assertGradientsMatch([x]) { $0[0].sigmoid() }
        assertGradientsMatch([x]) { $0[0].silu() }
        assertGradientsMatch([x]) { $0[0].gelu() }
        assertGradientsMatch([x]) { $0[0].gelu(approximation: .tanh) }
        // Piecewise functions: keep inputs away from the kinks at 0 and ±0.5.
        let awayFromKinks = Tensor(x.toArray().map { Swift.abs($0) < 0.05 || Swift.abs(Swift.abs($0) - 0.5) < 0.05 ? 0.3 : $0 }, shape: x.shape)
        assertGradientsMatch([awayFromKinks], eps: 1e-3) { $0[0].clamped(min: -0.5, max: 0.5) }
        assertGradientsMatch([awayFromKinks], eps: 1e-3) { $0[0].relu() }
        assertGradientsMatch([awayFromKinks], eps: 1e-3) { $0[0].abs() }
        assertGradientsMatch([x]) { $0[0].negated() }
    }

    func testSelect() {
        let cond = Tensor([1, 0, 1, 0], shape: [2, 2])
        let a = randomTensor([2, 2], seed: 1), b = randomTensor([2], seed: 2)
        let y = Tensor.select(cond, a, b)
        let av = a.toArray(), bv = b.toArray()
        XCTAssertEqual(y.toArray(), [av[0], bv[1], av[2], bv[1]])
        assertGradientsMatch([a, b]) { Tensor.select(cond, $0[0], $0[1]) }
    }

    func testNoRecordingOutsideTapeAndInWithoutGradient() {
        let x = randomTensor([3], seed: 1).requiringGradient()
        let tape = GradientTape()
        tape.record { _ = withoutGradient { x.exp() } }
        XCTAssertEqual(tape.recordedOps, 0)
        _ = x.exp()   // no tape recording
        XCTAssertEqual(tape.recordedOps, 0)
        tape.record { _ = x.exp() }
        XCTAssertEqual(tape.recordedOps, 1)
    }

    func testGradientAccumulatesOverReuse() {
        // y = x·x + x ⇒ dy/dx = 2x + 1
        let x = Tensor([1, -2, 3])
        let (_, g) = valueAndGradient(at: [x]) { ($0[0] * $0[0] + $0[0]).sum() }
        XCTAssertEqual(g[0].toArray(), [3, -3, 7])
    }
}

import Foundation
