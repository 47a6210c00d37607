import XCTest
@testable import LatteTensor

final class RotaryTests: XCTestCase {
    func testRotatesHalfSplitPairsByPositionAngle() {
        let d = 8, theta: Float = 10_000
        let x = randomTensor([1, 2, 3, d], seed: 1)
        let (c, s) = Rotary.tables(positions: [0, 5, 17], headDim: d, theta: theta)
        let y = x.applyingRotary(cos: c, sin: s).toArray(), xv = x.toArray()
        for h in 0..<2 { for t in 0..<3 {
            let pos = Double([0, 5, 17][t])
            for i in 0..<(d / 2) {
                let angle = pos * Foundation.pow(Double(theta), -2 * Double(i) / Double(d))
                let base = (h * 3 + t) * d
                let (a, b) = (Double(xv[base + i]), Double(xv[base + i + d / 2]))
                XCTAssertEqual(y[base + i], Float(a * Foundation.cos(angle) - b * Foundation.sin(angle)), accuracy: 1e-5)
                XCTAssertEqual(y[base + i + d / 2], Float(b * Foundation.cos(angle) + a * Foundation.sin(angle)), accuracy: 1e-5)
            }
        } }
    }

    func testScoresDependOnlyOnRelativePosition() {
        let d = 16
        let q = randomTensor([1, 1, 1, d], seed: 2), k = randomTensor([1, 1, 1, d], seed: 3)
        func score(_ pq: Int, _ pk: Int) -> Float {
            let (cq, sq) = Rotary.tables(positions: [pq], headDim: d, theta: 1e4)
            let (ck, sk) = Rotary.tables(positions: [pk], headDim: d, theta: 1e4)
            return (q.applyingRotary(cos: cq, sin: sq) * k.applyingRotary(cos: ck, sin: sk)).sum().item()
        }
        XCTAssertEqual(score(7, 3), score(104, 100), accuracy: 1e-4)
        XCTAssertNotEqual(score(7, 3), score(7, 4), accuracy: 1e-4)
    }

    func testMultimodalRopeWithEqualStreamsIsPlainRope() {
        let d = 16, positions = [0, 3, 4, 9]
        let plain = Rotary.tables(positions: positions, headDim: d, theta: 1e6)
        let mm = Rotary.multimodalTables(positions: [positions, positions, positions], sections: [2, 3, 3], headDim: d, theta: 1e6)
        XCTAssertEqual(plain.cos.toArray(), mm.cos.toArray())
        XCTAssertEqual(plain.sin.toArray(), mm.sin.toArray())
    }

    func testMultimodalSectionsPickTheirStream() {
        // Sections [1, 1, 2] of D/2 = 4 frequencies: frequency 0 ← temporal, 1 ← height, 2–3 ← width,
        // mirrored in the second half (Qwen2-VL's layout).
        let d = 8
        let mm = Rotary.multimodalTables(positions: [[2], [5], [11]], sections: [1, 1, 2], headDim: d, theta: 100)
        let inv = Rotary.inverseFrequencies(headDim: d, theta: 100)
        let expected = [2, 5, 11, 11].enumerated().map { Float(Foundation.cos(Double($0.element) * Double(inv[$0.offset]))) }
        assertClose(mm.cos.toArray(), expected + expected, tolerance: 1e-6)
    }

    func testRotaryGradient() {
        let x = randomTensor([2, 3, 6], seed: 4)
        let (c, s) = Rotary.tables(positions: [1, 2, 3], headDim: 6, theta: 10)
        assertGradientsMatch([x]) { $0[0].applyingRotary(cos: c, sin: s) }
    }
}

final class AttentionTests: XCTestCase {
    /// Naive attention in Double for one (batch, query head).
    func reference(_ q: [Float], _ k: [Float], _ v: [Float], b: Int, hq: Int, hkv: Int, tq: Int, tk: Int, d: Int,
                   visible: (Int, Int) -> Bool) -> [Float] {
        var out = [Float](repeating: 0, count: b * hq * tq * d)
        let g = hq / hkv
        for bi in 0..<b { for h in 0..<hq { for i in 0..<tq {
            let kh = h / g
            var scores = [Double](repeating: -.infinity, count: tk)
            for j in 0..<tk where visible(i, j) {
                var s = 0.0
                for c in 0..<d { s += Double(q[((bi * hq + h) * tq + i) * d + c]) * Double(k[((bi * hkv + kh) * tk + j) * d + c]) }
                scores[j] = s / Double(d).squareRoot()
            }
            let m = scores.max()!
            let e = scores.map { Foundation.exp($0 - m) }
            let z = e.reduce(0, +)
            for c in 0..<d {
                var acc = 0.0
                for j in 0..<tk { acc += e[j] / z * Double(v[((bi * hkv + kh) * tk + j) * d + c]) }
                out[((bi * hq + h) * tq + i) * d + c] = Float(acc)
            }
        } } }
        return out
    }

    func testMasksAndGroupedHeads() {
        let (b, hq, hkv, tq, tk, d) = (2, 6, 2, 5, 7, 4)
        let q = randomTensor([b, hq, tq, d], seed: 1), k = randomTensor([b, hkv, tk, d], seed: 2), v = randomTensor([b, hkv, tk, d], seed: 3)
        let cases: [(AttentionMask, (Int, Int) -> Bool)] = [
            (.none, { _, _ in true }),
            (.causal, { i, j in j <= i + (tk - tq) }),
            (.prefixCausal(4), { i, j in j < 4 || j <= i + (tk - tq) }),
        ]
        for (mask, visible) in cases {
            let y = Tensor.scaledDotProductAttention(query: q, key: k, value: v, mask: mask).output
            assertClose(y.toArray(), reference(q.toArray(), k.toArray(), v.toArray(), b: b, hq: hq, hkv: hkv, tq: tq, tk: tk, d: d, visible: visible), tolerance: 1e-5)
        }
    }

    func testBiasAndReturnedScores() {
        let q = randomTensor([1, 2, 3, 4], seed: 4), k = randomTensor([1, 2, 5, 4], seed: 5), v = randomTensor([1, 2, 5, 4], seed: 6)
        let bias = randomTensor([1, 2, 3, 5], seed: 7)
        let (y, scores) = Tensor.scaledDotProductAttention(query: q, key: k, value: v, bias: bias, returnScores: true)
        let expectedScores = q.matmul(k.T) / 2 + bias
        assertClose(scores!.toArray(), expectedScores.toArray())
        assertClose(y.toArray(), expectedScores.softmax().matmul(v).toArray())
    }

    func testAttentionGradients() {
        let q = randomTensor([1, 4, 3, 4], seed: 8), k = randomTensor([1, 2, 5, 4], seed: 9), v = randomTensor([1, 2, 5, 4], seed: 10)
        let bias = randomTensor([1, 1, 3, 5], seed: 11)
        assertGradientsMatch([q, k, v, bias]) {
            Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], mask: .causal, bias: $0[3]).output
        }
        // Gradient through the returned scores as well (residual attention chains them).
        assertGradientsMatch([q, k, v]) {
            let (o, s) = Tensor.scaledDotProductAttention(query: $0[0], key: $0[1], value: $0[2], returnScores: true)
            return o.sum(axes: [3]) + s!.sum(axes: [3])
        }
    }
}

import Foundation
