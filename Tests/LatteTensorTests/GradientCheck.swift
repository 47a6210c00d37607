import XCTest
@testable import LatteTensor

/// Central finite differences against the tape's gradients.
///
/// The checked scalar is L = Σ f(x) ⊙ R with a fixed random R (so every output element matters and no
/// symmetry hides a wrong sign). L is summed in Double from the float32 outputs, which keeps the
/// numeric derivative's noise near float32 rounding of f itself; eps is relative to each input's scale.
func assertGradientsMatch(
    _ inputs: [Tensor], eps: Float = 1e-2, tolerance: Float = 1e-2,
    file: StaticString = #filePath, line: UInt = #line, _ f: ([Tensor]) -> Tensor
) {
    let probe = withoutGradient { f(inputs) }
    let weights = Tensor.randomNormal(probe.shape, seed: 99)
    let w = weights.toArray().map(Double.init)
    func loss(_ xs: [Tensor]) -> Double {
        let y = withoutGradient { f(xs) }.toArray()
        var s = 0.0
        for (a, b) in zip(y, w) { s += Double(a) * b }
        return s
    }
    let (_, grads) = valueAndGradient(at: inputs) { xs in (f(xs) * weights).sum() }
    for (index, x) in inputs.enumerated() {
        let base = x.toArray()
        let analytic = grads[index].toArray()
        XCTAssertEqual(analytic.count, base.count, "gradient \(index) has the wrong size", file: file, line: line)
        var worst: Float = 0
        var worstAt = 0
        for i in 0..<base.count {
            var plus = base, minus = base
            let h = eps * Swift.max(1, Swift.abs(base[i]))
            plus[i] += h; minus[i] -= h
            var xsP = inputs, xsM = inputs
            xsP[index] = Tensor(plus, shape: x.shape)
            xsM[index] = Tensor(minus, shape: x.shape)
            let numeric = Float((loss(xsP) - loss(xsM)) / Double(plus[i] - minus[i]))
            let err = Swift.abs(numeric - analytic[i]) / Swift.max(1, Swift.abs(numeric))
            if err > worst { worst = err; worstAt = i }
        }
        XCTAssertLessThanOrEqual(worst, tolerance,
            "input \(index): analytic and numeric gradients differ by \(worst) (relative) at element \(worstAt)", file: file, line: line)
    }
}

func randomTensor(_ shape: [Int], seed: UInt64, scale: Float = 1) -> Tensor {
    Tensor.randomNormal(shape, seed: seed, std: scale)
}

func assertClose(_ a: [Float], _ b: [Float], tolerance: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "sizes differ", file: file, line: line)
    var worst: Float = 0
    for (x, y) in zip(a, b) {
        if x.isNaN && y.isNaN { continue }
        if x == y { continue }
        worst = Swift.max(worst, Swift.abs(x - y) / Swift.max(1, Swift.abs(y)))
    }
    XCTAssertLessThanOrEqual(worst, tolerance, "values differ by \(worst)", file: file, line: line)
}
