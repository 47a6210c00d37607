import Foundation
import LatteTensor
import XCTest
import LatteNN

/// A fresh temporary directory, removed when the test ends.
func temporaryDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("lattenn-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}

func bits(_ t: Tensor) -> [UInt32] { t.toArray().map(\.bitPattern) }

func assertClose(_ a: [Float], _ b: [Float], relative: Float, absolute: Float = 0, _ message: String = "",
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, "count \(message)", file: file, line: line)
    for (i, (x, y)) in zip(a, b).enumerated() {
        let tol = absolute + relative * Swift.max(Swift.abs(x), Swift.abs(y))
        if !(Swift.abs(x - y) <= tol) {
            XCTFail("\(message) element \(i): \(x) vs \(y) (tolerance \(tol))", file: file, line: line)
            return
        }
    }
}

/// A two-parameter module for optimiser tests: `w` [3, 4] and `b` [4].
final class Pair: Module {
    let w: Parameter
    let b: Parameter
    init(w: [Float], b: [Float]) {
        self.w = Parameter(Tensor(w, shape: [3, 4]))
        self.b = Parameter(Tensor(b, shape: [4]))
    }
}

/// Sets the gradient arena to the given per-key values.
func setGradients(_ arena: ParameterArena, _ values: [String: [Float]]) {
    arena.zeroGradients()
    for e in arena.entries {
        guard let v = values[e.key] else { continue }
        precondition(v.count == e.count)
        for (i, x) in v.enumerated() { arena.gradientPointer[e.offset + i] = x }
    }
}

/// Directional finite-difference check of a scalar function's gradient.
///
/// Float32 makes per-coordinate differences noisy, so each check compares the derivative along a
/// random direction u: (L(θ + εu) − L(θ − εu)) / 2ε against Σ ∂L/∂θ · u. That one number has a large
/// signal (it sums over every coordinate), truncation error O(ε²), and float32 rounding error about
/// 1e-7·|L|/ε, well inside the tolerance for ε = 1e-2 on values of order one.
struct DirectionalCheck {
    var generator = RandomGenerator(seed: 99)
    let eps: Float = 1e-2
    let relative: Float = 2e-2

    mutating func check(_ name: String, value: Tensor, analytic: Tensor, directions: Int = 3,
                        loss: (Tensor) -> Float, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(analytic.shape, value.shape, "\(name): gradient shape", file: file, line: line)
        let g = analytic.toArray()
        for _ in 0..<directions {
            let u = Tensor.normal(value.shape, generator: &generator)
            let plus = loss(value + u * eps), minus = loss(value - u * eps)
            let numeric = Double(plus - minus) / Double(2 * eps)
            let exact = zip(g, u.toArray()).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
            let scale = Swift.max(Swift.abs(numeric), Swift.abs(exact), 1e-2)
            XCTAssertLessThanOrEqual(Swift.abs(numeric - exact) / scale, Double(relative),
                                     "\(name): numeric \(numeric) vs analytic \(exact)", file: file, line: line)
        }
    }
}
