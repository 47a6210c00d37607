// Every vector-math kernel against a double-precision reference, on random and edge inputs,
// for each kernel variant this CPU supports (AVX-512, AVX2, portable C).
import Foundation
import XCTest
@testable import LatteKernels

private let k0 = (2.0 / Double.pi).squareRoot()
private let k1 = 0.044715

// Double-precision references; at −inf the activations take their limit (0), as the kernels do.
private func refSigmoid(_ x: Double) -> Double { x >= 0 ? 1 / (1 + Foundation.exp(-x)) : Foundation.exp(x) / (1 + Foundation.exp(x)) }
private func refSilu(_ x: Double) -> Double { x == -.infinity ? 0 : x * refSigmoid(x) }
// 0.5·x·(1 + tanh u) written as x·σ(2u), which avoids 1 + tanh u cancelling to 0 in double too.
private func refGeluTanh(_ x: Double) -> Double {
    x == -.infinity ? 0 : x * refSigmoid(2 * k0 * (x + k1 * x * x * x))
}
private func refPhi(_ x: Double) -> Double { 0.5 * Foundation.erfc(-x / 2.0.squareRoot()) }
private func refGeluErf(_ x: Double) -> Double { x == -.infinity ? 0 : x * refPhi(x) }
private func refSiluGrad(_ x: Double) -> Double {
    if x.isInfinite { return x > 0 ? 1 : 0 }
    let s = refSigmoid(x)
    return s * (1 + x * (1 - s))
}
private func refGeluTanhGrad(_ x: Double) -> Double {
    if x.isInfinite { return x > 0 ? 1 : 0 }
    let t = Foundation.tanh(k0 * (x + k1 * x * x * x))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * k0 * (1 + 3 * k1 * x * x)
}
private func refGeluErfGrad(_ x: Double) -> Double {
    if x.isInfinite { return x > 0 ? 1 : 0 }
    return refPhi(x) + x * Foundation.exp(-x * x / 2) / (2 * Double.pi).squareRoot()
}

private let edgeInputs: [Float] = [
    0, -0.0, 1, -1, .infinity, -.infinity, .nan, 88.7, 88.72, 88.73, 89, 100, -87, -88, -100, -103, -103.9,
    -104, -105, -200, 1e-30, -1e-30, Float(1e-40 as Double), Float(-1e-40 as Double), 0.625, -0.625, 0.6249, -0.6251, 9, -9, 20, -20, 44, -44,
    1e10, -1e10, .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .leastNormalMagnitude,
    .leastNonzeroMagnitude, 1.0000001, 0.9999999, 0.5, 2, 1e20, 1e-20,
]

final class VectorMathTests: XCTestCase {
    /// Random inputs over [−range, range] plus the edge inputs, in lengths that exercise every
    /// vector tail (the edge list alone is 46 long: 2 full AVX-512 vectors and a tail of 14).
    private func inputs(range: Float, count: Int = 2000, seed: UInt64) -> [Float] {
        var g = SeededGenerator(seed: seed)
        return edgeInputs + g.uniforms(count, -range, range)
    }

    private func checkUnary(
        _ name: String, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
        _ ref: (Double) -> Double, _ x: [Float], rel: Double, abs: Double, variant: VectorMath.Variant
    ) {
        for n in [0, 1, 7, 15, 17, 33, x.count] {
            let slice = Array(x.prefix(n))
            let y = apply(kernel, slice)
            XCTAssertEqual(y.map(\.bitPattern), applyInPlace(kernel, slice).map(\.bitPattern), "\(name) in place differs")
            var worst = 0.0, worstX: Float = 0, worstAbs = 0.0
            for (xi, yi) in zip(slice, y) {
                let want = ref(Double(xi))
                if !close(yi, want, rel: rel, abs: abs) {
                    XCTFail("\(name)[\(variant)](\(xi)) = \(yi), want \(want)")
                    return
                }
                if Float(want).isFinite { worstAbs = Swift.max(worstAbs, Swift.abs(Double(yi) - want)) }
                if Float(want).isFinite && want != 0 {
                    let e = Swift.abs(Double(yi) - want) / Swift.abs(want)
                    if e > worst && Swift.abs(want) > 1e-30 { worst = e; worstX = xi }
                }
            }
            if n == x.count { print("vecmath \(variant) \(name): max relative error \(worst) at x = \(worstX), max abs error \(worstAbs)") }
        }
    }

    func testTranscendentals() {
        forEachVariant { v in
            let wide = inputs(range: 100, seed: 1)
            let narrow = inputs(range: 8, seed: 2)
            checkUnary("exp", VectorMath.exp, Foundation.exp, wide, rel: 1e-6, abs: 1e-44, variant: v)
            checkUnary("exp", VectorMath.exp, Foundation.exp, narrow, rel: 1e-6, abs: 1e-44, variant: v)
            var g = SeededGenerator(seed: 3)
            let positive = edgeInputs + (0..<2000).map { _ in Float(Foundation.exp(Double(g.uniform(-100, 88)))) }
                + g.uniforms(500, 0.5, 2)
            checkUnary("log", VectorMath.log, { Foundation.log($0) }, positive, rel: 1e-6, abs: 0, variant: v)
            checkUnary("tanh", VectorMath.tanh, Foundation.tanh, narrow, rel: 1e-6, abs: 1e-44, variant: v)
            checkUnary("tanh", VectorMath.tanh, Foundation.tanh, inputs(range: 1, seed: 4), rel: 1e-6, abs: 1e-44, variant: v)
            checkUnary("sigmoid", VectorMath.sigmoid, refSigmoid, wide, rel: 1e-6, abs: 1e-44, variant: v)
            checkUnary("sigmoid", VectorMath.sigmoid, refSigmoid, narrow, rel: 1e-6, abs: 1e-44, variant: v)
        }
    }

    func testActivations() {
        forEachVariant { v in
            for (seed, range) in [(5, Float(8)), (6, Float(40))] {
                let x = inputs(range: range, seed: UInt64(seed))
                checkUnary("silu", VectorMath.silu, refSilu, x, rel: 1e-6, abs: 1e-42, variant: v)
                checkUnary("geluTanh", VectorMath.geluTanh, refGeluTanh, x, rel: 2e-6, abs: 1e-7, variant: v)
                checkUnary("geluErf", VectorMath.geluErf, refGeluErf, x, rel: 0, abs: 1e-6, variant: v)
            }
        }
    }

    func testActivationDerivatives() {
        // The references themselves are first checked against central differences in double.
        var g = SeededGenerator(seed: 7)
        for _ in 0..<200 {
            let x = Double(g.uniform(-6, 6)), h = 1e-5
            for (f, df) in [(refSilu, refSiluGrad), (refGeluTanh, refGeluTanhGrad), (refGeluErf, refGeluErfGrad)] {
                XCTAssertEqual(df(x), (f(x + h) - f(x - h)) / (2 * h), accuracy: 1e-8)
            }
        }
        forEachVariant { v in
            let x = inputs(range: 10, seed: 8)
            var gy = SeededGenerator(seed: 9)
            let dy = gy.uniforms(x.count, -2, 2)
            let kernels: [(String, (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void, (Double) -> Double)] = [
                ("siluBackward", VectorMath.siluBackward, refSiluGrad),
                ("geluTanhBackward", VectorMath.geluTanhBackward, refGeluTanhGrad),
                ("geluErfBackward", VectorMath.geluErfBackward, refGeluErfGrad),
            ]
            for (name, kernel, ref) in kernels {
                let dx = applyGrad(kernel, x, dy)
                for i in 0..<x.count {
                    let want = Double(dy[i]) * ref(Double(x[i]))
                    XCTAssertTrue(close(dx[i], want, rel: 1e-5, abs: 2e-6 * Double(Swift.abs(dy[i]))),
                                  "\(name)[\(v)](\(x[i])) = \(dx[i]), want \(want)")
                }
                // dx may alias dy.
                var inPlace = dy
                x.withUnsafeBufferPointer { xp in
                    inPlace.withUnsafeMutableBufferPointer { p in kernel(xp.baseAddress!, UnsafePointer(p.baseAddress!), p.baseAddress!, x.count) }
                }
                XCTAssertEqual(inPlace.map(\.bitPattern), dx.map(\.bitPattern), "\(name) with dx == dy")
            }
        }
    }

    func testHelpersAndReductions() {
        forEachVariant { v in
            var g = SeededGenerator(seed: 10)
            for n in [0, 1, 5, 16, 31, 64, 100, 1027] {
                let a = g.uniforms(n, -3, 3), b = g.uniforms(n, -3, 3)
                var y = [Float](repeating: 0, count: n)
                func binary(_ k: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> [Float] {
                    a.withUnsafeBufferPointer { ap in b.withUnsafeBufferPointer { bp in y.withUnsafeMutableBufferPointer { yp in
                        k(ap.baseAddress!, bp.baseAddress!, yp.baseAddress!, n) } } }
                    return y
                }
                XCTAssertEqual(binary(VectorMath.add), zip(a, b).map { $0 + $1 }, "add[\(v)] n=\(n)")
                XCTAssertEqual(binary(VectorMath.sub), zip(a, b).map { $0 - $1 }, "sub[\(v)] n=\(n)")
                XCTAssertEqual(binary(VectorMath.mul), zip(a, b).map { $0 * $1 }, "mul[\(v)] n=\(n)")
                var axpy = b
                a.withUnsafeBufferPointer { ap in axpy.withUnsafeMutableBufferPointer { VectorMath.axpy(1.5, ap.baseAddress!, $0.baseAddress!, n) } }
                for i in 0..<n { XCTAssertEqual(axpy[i], 1.5 * a[i] + b[i], accuracy: 1e-6 * (1 + Swift.abs(axpy[i]))) }
                XCTAssertEqual(apply({ VectorMath.scale(-0.25, $0, $1, $2) }, a), a.map { -0.25 * $0 })

                let da = a.map(Double.init), db = b.map(Double.init)
                a.withUnsafeBufferPointer { ap in
                    b.withUnsafeBufferPointer { bp in
                        let tol = 1e-5 * Double(n + 1)
                        XCTAssertEqual(Double(VectorMath.sum(ap.baseAddress!, n)), da.reduce(0, +), accuracy: tol)
                        XCTAssertEqual(Double(VectorMath.dot(ap.baseAddress!, bp.baseAddress!, n)), zip(da, db).map(*).reduce(0, +), accuracy: tol)
                        XCTAssertEqual(VectorMath.max(ap.baseAddress!, n), a.max() ?? -.infinity)
                    }
                }
            }
            // max: NaN anywhere wins, inf is a value, empty is −inf.
            for special in [Float.nan, .infinity, -.infinity] {
                for position in [0, 16, 36] {
                    var x = g.uniforms(37, -1, 1)
                    x[position] = special
                    let m = x.withUnsafeBufferPointer { VectorMath.max($0.baseAddress!, 37) }
                    if special.isNaN { XCTAssertTrue(m.isNaN, "max[\(v)] with NaN at \(position)") }
                    else { XCTAssertEqual(m, x.max()!, "max[\(v)] with \(special) at \(position)") }
                }
            }
        }
    }
}
