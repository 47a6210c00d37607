import XCTest
@testable import LatteTensor

/// Naive double-precision product of row-major a [m, k] and b [k, n].
func referenceMatMul(_ a: [Float], _ b: [Float], m: Int, k: Int, n: Int) -> [Float] {
    var c = [Float](repeating: 0, count: m * n)
    for i in 0..<m { for j in 0..<n {
        var s = 0.0
        for p in 0..<k { s += Double(a[i * k + p]) * Double(b[p * n + j]) }
        c[i * n + j] = Float(s)
    } }
    return c
}

final class MatMulTests: XCTestCase {
    func testMatMulAllLayouts() {
        let (m, k, n) = (5, 7, 3)
        let a = randomTensor([m, k], seed: 1), b = randomTensor([k, n], seed: 2)
        let ref = referenceMatMul(a.toArray(), b.toArray(), m: m, k: k, n: n)
        assertClose(a.matmul(b).toArray(), ref)
        // Transposed views go to GEMM as flags.
        let at = a.T.contiguous().T, bt = b.T.contiguous().T
        assertClose(at.matmul(b).toArray(), ref)
        assertClose(a.matmul(bt).toArray(), ref)
        assertClose(at.matmul(bt).toArray(), ref)
        // Vectors.
        assertClose(a.matmul(b.sliced(axis: 1, 0..<1).reshaped([k])).toArray(), (0..<m).map { ref[$0 * n] })
    }

    func testBatchedAndBroadcast() {
        let a = randomTensor([2, 3, 4, 5], seed: 3), b = randomTensor([3, 5, 6], seed: 4)
        let c = a.matmul(b)
        XCTAssertEqual(c.shape, [2, 3, 4, 6])
        let av = a.toArray(), bv = b.toArray(), cv = c.toArray()
        for i in 0..<2 { for h in 0..<3 {
            let ref = referenceMatMul(Array(av[((i * 3 + h) * 20)..<((i * 3 + h + 1) * 20)]), Array(bv[(h * 30)..<((h + 1) * 30)]), m: 4, k: 5, n: 6)
            assertClose(Array(cv[((i * 3 + h) * 24)..<((i * 3 + h + 1) * 24)]), ref)
        } }
        // Stacked rows with a shared 2-D weight.
        let w = randomTensor([5, 2], seed: 5)
        let y = a.matmul(w)
        XCTAssertEqual(y.shape, [2, 3, 4, 2])
        assertClose(y.reshaped([24, 2]).toArray(), referenceMatMul(av, w.toArray(), m: 24, k: 5, n: 2))
        // A permuted (non-uniform-stride) batch falls back to per-item GEMMs.
        let ap = a.permuted([1, 0, 2, 3])
        assertClose(ap.matmul(b.unsqueezed(1)).toArray(), ap.contiguous().matmul(b.unsqueezed(1)).toArray())
    }

    func testMatMulGradients() {
        let a = randomTensor([3, 4], seed: 6), b = randomTensor([4, 2], seed: 7)
        assertGradientsMatch([a, b]) { $0[0].matmul($0[1]) }
        assertGradientsMatch([a, randomTensor([2, 4], seed: 8)]) { $0[0].matmul($0[1].T) }
        assertGradientsMatch([randomTensor([2, 3, 4], seed: 9), b]) { $0[0].matmul($0[1]) }
        assertGradientsMatch([randomTensor([2, 1, 3, 4], seed: 10), randomTensor([3, 4, 2], seed: 11)]) { $0[0].matmul($0[1]) }
    }

    func testLinear() {
        let x = randomTensor([2, 3, 4], seed: 12), w = randomTensor([5, 4], seed: 13), b = randomTensor([5], seed: 14)
        let y = Tensor.linear(x, weight: w, bias: b)
        XCTAssertEqual(y.shape, [2, 3, 5])
        assertClose(y.toArray(), (x.matmul(w.T) + b).toArray())
        assertClose(Tensor.linear(x, weight: w.T.contiguous().T).toArray(), x.matmul(w.T).toArray())
        assertGradientsMatch([x, w, b]) { Tensor.linear($0[0], weight: $0[1], bias: $0[2]) }
        assertGradientsMatch([x, w]) { Tensor.linear($0[0], weight: $0[1]) }
    }
}
