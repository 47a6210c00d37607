// Row kernels (softmax, log-softmax, RMSNorm, LayerNorm and their backward passes) against
// double-precision references; backward passes against central differences of those references.
import Foundation
import XCTest
@testable import LatteKernels

private func refSoftmax(_ x: [Double]) -> [Double] {
    let m = x.max() ?? -.infinity
    if m == -.infinity { return x.map { _ in 0 } }
    let e = x.map { Foundation.exp($0 - m) }
    let s = e.reduce(0, +)
    return e.map { $0 / s }
}
private func refLogSoftmax(_ x: [Double]) -> [Double] {
    let m = x.max()!
    let s = x.map { Foundation.exp($0 - m) }.reduce(0, +)
    return x.map { $0 - m - Foundation.log(s) }
}
private func refRMSNorm(_ x: [Double], _ w: [Double]?, eps: Double) -> (y: [Double], r: Double) {
    let r = 1 / (x.map { $0 * $0 }.reduce(0, +) / Double(x.count) + eps).squareRoot()
    return (x.indices.map { x[$0] * r * (w?[$0] ?? 1) }, r)
}
private func refLayerNorm(_ x: [Double], _ w: [Double]?, _ b: [Double]?, eps: Double) -> (y: [Double], mean: Double, r: Double) {
    let mu = x.reduce(0, +) / Double(x.count)
    let r = 1 / (x.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / Double(x.count) + eps).squareRoot()
    return (x.indices.map { (x[$0] - mu) * r * (w?[$0] ?? 1) + (b?[$0] ?? 0) }, mu, r)
}

/// Gradient of L(p) = Σ dy · f(p) with respect to p[i], i in `at`, by central differences
/// (double precision).
private func numericalGradient(_ p: [Double], _ dy: [Double], at indices: [Int], _ f: ([Double]) -> [Double]) -> [Double] {
    let h = 1e-4  // truncation error ~h², cancellation ~|L|·1e-16/h: both well below the tolerances
    // Outputs fixed at ±inf (masked entries of log-softmax) do not depend on p.
    func loss(_ y: [Double]) -> Double { zip(y, dy).filter { $0.0.isFinite }.map(*).reduce(0, +) }
    return indices.map { i in
        var a = p, b = p
        a[i] += h
        b[i] -= h
        return (loss(f(a)) - loss(f(b))) / (2 * h)
    }
}

/// Up to ~32 coordinates spread over 0..<n, including both ends: finite differences cost
/// O(n) each, so long rows are spot-checked.
private func probes(_ n: Int) -> [Int] {
    n <= 32 ? Array(0..<n) : Array(Set(Array(stride(from: 0, to: n, by: n / 31)) + [n - 1])).sorted()
}

private func assertClose(_ got: [Float], _ want: [Double], tol: Double, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, what, file: file, line: line)
    for i in 0..<Swift.min(got.count, want.count) where !close(got[i], want[i], rel: tol, abs: tol) {
        XCTFail("\(what)[\(i)] = \(got[i]), want \(want[i])", file: file, line: line)
        return
    }
}

final class VectorMathRowTests: XCTestCase {
    private let shapes = [(1, 1), (2, 7), (3, 16), (2, 17), (2, 100), (1, 1000)]

    func testSoftmaxAndLogSoftmax() {
        forEachVariant { v in
            var g = SeededGenerator(seed: 20)
            for (rows, cols) in shapes {
                var x = g.uniforms(rows * cols, -8, 8)
                if cols > 3 { x[1] = -.infinity; x[cols - 1] = 1e4 }  // masked entry and a huge logit
                let xd = x.map(Double.init)
                var y = [Float](repeating: 0, count: x.count), ly = y, back = y, lback = y
                var dy = g.uniforms(x.count, -1, 1)
                if cols > 3 { dy[1] = 0 }  // no gradient flows into the masked (−inf) entry
                let dyd = dy.map(Double.init)
                x.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer {
                    VectorMath.softmaxRows(xp.baseAddress!, $0.baseAddress!, rows: rows, cols: cols) } }
                x.withUnsafeBufferPointer { xp in ly.withUnsafeMutableBufferPointer {
                    VectorMath.logSoftmaxRows(xp.baseAddress!, $0.baseAddress!, rows: rows, cols: cols) } }
                y.withUnsafeBufferPointer { yp in dy.withUnsafeBufferPointer { gp in back.withUnsafeMutableBufferPointer {
                    VectorMath.softmaxRowsBackward(yp.baseAddress!, gp.baseAddress!, $0.baseAddress!, rows: rows, cols: cols) } } }
                ly.withUnsafeBufferPointer { yp in dy.withUnsafeBufferPointer { gp in lback.withUnsafeMutableBufferPointer {
                    VectorMath.logSoftmaxRowsBackward(yp.baseAddress!, gp.baseAddress!, $0.baseAddress!, rows: rows, cols: cols) } } }
                for r in 0..<rows {
                    let range = r * cols..<(r + 1) * cols
                    let xr = Array(xd[range]), gr = Array(dyd[range])
                    assertClose(Array(y[range]), refSoftmax(xr), tol: 1e-6, "softmax[\(v)] \(rows)x\(cols)")
                    assertClose(Array(ly[range]), refLogSoftmax(xr), tol: 2e-6, "logSoftmax[\(v)] \(rows)x\(cols)")
                    // Backward against central differences, on the finite entries only.
                    let finite = xr.indices.filter { xr[$0].isFinite && Swift.abs(xr[$0]) < 100 }
                    func sub(_ f: @escaping ([Double]) -> [Double]) -> ([Double]) -> [Double] {
                        { p in var full = xr; for (k, i) in finite.enumerated() { full[i] = p[k] }; return f(full) }
                    }
                    let p = finite.map { xr[$0] }, at = probes(p.count)
                    let numSoft = numericalGradient(p, gr, at: at, sub(refSoftmax))
                    let numLog = numericalGradient(p, gr, at: at, sub(refLogSoftmax))
                    assertClose(at.map { back[range.lowerBound + finite[$0]] }, numSoft, tol: 1e-5, "softmaxBackward[\(v)]")
                    assertClose(at.map { lback[range.lowerBound + finite[$0]] }, numLog, tol: 1e-5, "logSoftmaxBackward[\(v)]")
                }
            }
            // Fully masked rows: zeros for softmax, −inf for log-softmax; NaN propagates.
            let masked: [Float] = [.nan, 1, 2] + [Float](repeating: -.infinity, count: 19)
            var y = [Float](repeating: 7, count: masked.count)
            masked.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer {
                VectorMath.softmaxRows(xp.baseAddress! + 3, $0.baseAddress! + 3, rows: 1, cols: 19)
                VectorMath.softmaxRows(xp.baseAddress!, $0.baseAddress!, rows: 1, cols: 3) } }
            XCTAssertEqual(Array(y[3...]), [Float](repeating: 0, count: 19), "softmax of −inf row [\(v)]")
            XCTAssertTrue(y[0...2].allSatisfy(\.isNaN), "softmax with NaN [\(v)]")
            masked.withUnsafeBufferPointer { xp in y.withUnsafeMutableBufferPointer {
                VectorMath.logSoftmaxRows(xp.baseAddress! + 3, $0.baseAddress! + 3, rows: 1, cols: 19) } }
            XCTAssertEqual(Array(y[3...]), [Float](repeating: -.infinity, count: 19), "logSoftmax of −inf row [\(v)]")
        }
    }

    func testRMSNorm() {
        forEachVariant { v in
            var g = SeededGenerator(seed: 21)
            for (rows, cols) in shapes {
                for withWeight in [true, false] {
                    let x = g.uniforms(rows * cols, -3, 3), w = g.uniforms(cols, 0.5, 1.5)
                    let dy = g.uniforms(rows * cols, -1, 1), dw0 = g.uniforms(cols, -1, 1)
                    let eps: Float = 1e-6
                    var y = [Float](repeating: 0, count: x.count), dx = y, r = [Float](repeating: 0, count: rows), dw = dw0
                    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in y.withUnsafeMutableBufferPointer { yp in
                        r.withUnsafeMutableBufferPointer { rp in
                            VectorMath.rmsNormRows(xp.baseAddress!, weight: withWeight ? wp.baseAddress! : nil, yp.baseAddress!,
                                                   rows: rows, cols: cols, eps: eps, inverseRMS: rp.baseAddress!) } } } }
                    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in r.withUnsafeBufferPointer { rp in
                        dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dxp in dw.withUnsafeMutableBufferPointer { dwp in
                            VectorMath.rmsNormRowsBackward(xp.baseAddress!, weight: withWeight ? wp.baseAddress! : nil,
                                                           inverseRMS: rp.baseAddress!, gp.baseAddress!, dxp.baseAddress!,
                                                           dWeight: withWeight ? dwp.baseAddress! : nil, rows: rows, cols: cols) } } } } } }
                    let wd = withWeight ? w.map(Double.init) : nil
                    var dwWant = dw0.map(Double.init)
                    for row in 0..<rows {
                        let range = row * cols..<(row + 1) * cols
                        let xr = x[range].map(Double.init), gr = dy[range].map(Double.init)
                        let ref = refRMSNorm(xr, wd, eps: Double(eps))
                        assertClose(Array(y[range]), ref.y, tol: 2e-6, "rmsNorm[\(v)] \(rows)x\(cols) w=\(withWeight)")
                        XCTAssertEqual(Double(r[row]), ref.r, accuracy: 1e-6 * ref.r)
                        let at = probes(cols)
                        let num = numericalGradient(xr, gr, at: at) { refRMSNorm($0, wd, eps: Double(eps)).y }
                        assertClose(at.map { dx[range.lowerBound + $0] }, num, tol: 1e-4, "rmsNormBackward dx[\(v)] \(rows)x\(cols) w=\(withWeight)")
                        if let wd {
                            let numW = numericalGradient(wd, gr, at: at) { refRMSNorm(xr, $0, eps: Double(eps)).y }
                            for (k, c) in at.enumerated() { dwWant[c] += numW[k] }
                        }
                    }
                    if withWeight {
                        let at = probes(cols)
                        assertClose(at.map { dw[$0] }, at.map { dwWant[$0] }, tol: 1e-4, "rmsNormBackward dWeight[\(v)] \(rows)x\(cols)")
                    }
                    else { XCTAssertEqual(dw, dw0, "dWeight untouched without weight") }
                }
            }
        }
    }

    func testLayerNorm() {
        forEachVariant { v in
            var g = SeededGenerator(seed: 22)
            for (rows, cols) in shapes where cols > 1 {
                for affine in [true, false] {
                    let x = g.uniforms(rows * cols, -3, 3).map { $0 + 5 }  // offset mean: tests the two-pass variance
                    let w = g.uniforms(cols, 0.5, 1.5), b = g.uniforms(cols, -1, 1)
                    let dy = g.uniforms(rows * cols, -1, 1), dw0 = g.uniforms(cols, -1, 1), db0 = g.uniforms(cols, -1, 1)
                    let eps: Float = 1e-5
                    var y = [Float](repeating: 0, count: x.count), dx = y
                    var mean = [Float](repeating: 0, count: rows), rs = mean, dw = dw0, db = db0
                    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
                        y.withUnsafeMutableBufferPointer { yp in mean.withUnsafeMutableBufferPointer { mp in rs.withUnsafeMutableBufferPointer { rp in
                            VectorMath.layerNormRows(xp.baseAddress!, weight: affine ? wp.baseAddress! : nil, bias: affine ? bp.baseAddress! : nil,
                                                     yp.baseAddress!, rows: rows, cols: cols, eps: eps,
                                                     mean: mp.baseAddress!, inverseStd: rp.baseAddress!) } } } } } }
                    x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in mean.withUnsafeBufferPointer { mp in
                        rs.withUnsafeBufferPointer { rp in dy.withUnsafeBufferPointer { gp in dx.withUnsafeMutableBufferPointer { dxp in
                            dw.withUnsafeMutableBufferPointer { dwp in db.withUnsafeMutableBufferPointer { dbp in
                                VectorMath.layerNormRowsBackward(
                                    xp.baseAddress!, weight: affine ? wp.baseAddress! : nil, mean: mp.baseAddress!,
                                    inverseStd: rp.baseAddress!, gp.baseAddress!, dxp.baseAddress!,
                                    dWeight: affine ? dwp.baseAddress! : nil, dBias: affine ? dbp.baseAddress! : nil,
                                    rows: rows, cols: cols) } } } } } } } }
                    let wd = affine ? w.map(Double.init) : nil, bd = affine ? b.map(Double.init) : nil
                    var dwWant = dw0.map(Double.init), dbWant = db0.map(Double.init)
                    for row in 0..<rows {
                        let range = row * cols..<(row + 1) * cols
                        let xr = x[range].map(Double.init), gr = dy[range].map(Double.init)
                        let ref = refLayerNorm(xr, wd, bd, eps: Double(eps))
                        assertClose(Array(y[range]), ref.y, tol: 1e-5, "layerNorm[\(v)] \(rows)x\(cols)")
                        XCTAssertEqual(Double(mean[row]), ref.mean, accuracy: 1e-5)
                        XCTAssertEqual(Double(rs[row]), ref.r, accuracy: 1e-5 * ref.r)
                        let at = probes(cols)
                        let num = numericalGradient(xr, gr, at: at) { refLayerNorm($0, wd, bd, eps: Double(eps)).y }
                        assertClose(at.map { dx[range.lowerBound + $0] }, num, tol: 2e-4, "layerNormBackward dx[\(v)] \(rows)x\(cols)")
                        if let wd, let bd {
                            let numW = numericalGradient(wd, gr, at: at) { refLayerNorm(xr, $0, bd, eps: Double(eps)).y }
                            let numB = numericalGradient(bd, gr, at: at) { refLayerNorm(xr, wd, $0, eps: Double(eps)).y }
                            for (k, c) in at.enumerated() { dwWant[c] += numW[k]; dbWant[c] += numB[k] }
                        }
                    }
                    let at = probes(cols)
                    assertClose(at.map { dw[$0] }, at.map { dwWant[$0] }, tol: 1e-4, "layerNormBackward dWeight[\(v)]")
                    assertClose(at.map { db[$0] }, at.map { dbWant[$0] }, tol: 1e-4, "layerNormBackward dBias[\(v)]")
                }
            }
        }
    }
}
