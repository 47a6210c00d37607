import XCTest
@testable import LatteTensor

final class ViewTests: XCTestCase {
    let x = Tensor((0..<24).map(Float.init), shape: [2, 3, 4])

    func testReshapePermuteSlice() {
        XCTAssertEqual(x.reshaped([4, -1]).shape, [4, 6])
        let p = x.permuted([2, 0, 1])
        XCTAssertEqual(p.shape, [4, 2, 3])
        XCTAssertFalse(p.isContiguous)
        // p[i, j, k] = x[j, k, i] = 12j + 4k + i
        XCTAssertEqual(p.contiguous().toArray()[0..<6], [0, 4, 8, 12, 16, 20])
        let s = x.sliced(axis: 2, 1..<3)
        XCTAssertEqual(s.shape, [2, 3, 2])
        XCTAssertEqual(s.toArray(), [1, 2, 5, 6, 9, 10, 13, 14, 17, 18, 21, 22])
        XCTAssertEqual(x.T.shape, [2, 4, 3])
        XCTAssertEqual(x.T.contiguous().toArray()[0..<3], [0, 4, 8])
        XCTAssertEqual(x.unsqueezed(1).shape, [2, 1, 3, 4])
        XCTAssertEqual(x.unsqueezed(-1).shape, [2, 3, 4, 1])
        XCTAssertEqual(x.unsqueezed(1).squeezed(1).shape, [2, 3, 4])
        XCTAssertEqual(x.flattened(from: 1).shape, [2, 12])
        // Reshape of a non-contiguous view copies in logical order.
        XCTAssertEqual(p.reshaped([24]).toArray()[0..<4], [0, 4, 8, 12])
    }

    func testExpandSharesStorage() {
        let row = Tensor([1, 2, 3])
        let e = row.expanded([4, 3])
        XCTAssertEqual(e.strides, [0, 1])
        XCTAssertTrue(e.storage === row.storage)
        XCTAssertEqual(e.contiguous().toArray(), [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3])
    }

    func testViewGradients() {
        let a = randomTensor([2, 3, 4], seed: 7)
        assertGradientsMatch([a]) { $0[0].permuted([2, 0, 1]).contiguous() }
        assertGradientsMatch([a]) { $0[0].sliced(axis: 1, 1..<3) }
        assertGradientsMatch([a]) { $0[0].reshaped([6, 4]).T }
        assertGradientsMatch([randomTensor([3, 1], seed: 3)]) { $0[0].expanded([2, 3, 5]) }
        assertGradientsMatch([a]) { $0[0].padded(axis: 2, before: 1, after: 2) }
        assertGradientsMatch([a]) { $0[0].T.reshaped([-1]) }
    }

    func testConcatSplitAndGradients() {
        let a = randomTensor([2, 3], seed: 1), b = randomTensor([2, 2], seed: 2)
        let c = Tensor.concat([a, b], axis: 1)
        XCTAssertEqual(c.shape, [2, 5])
        let parts = c.split(sizes: [3, 2], axis: 1)
        XCTAssertEqual(parts[0].toArray(), a.toArray())
        XCTAssertEqual(parts[1].toArray(), b.toArray())
        assertGradientsMatch([a, b]) { Tensor.concat([$0[0], $0[1]], axis: -1) }
        assertGradientsMatch([a]) { Tensor.concat($0[0].chunked(3, axis: 1).reversed(), axis: 1) }
    }

    func testEmbeddingAndIndexSelect() {
        let table = randomTensor([5, 3], seed: 4)
        let ids = Tensor(indices: [4, 0, 4, 2], shape: [2, 2])
        let e = Tensor.embedding(ids, table: table)
        XCTAssertEqual(e.shape, [2, 2, 3])
        let t = table.toArray()
        XCTAssertEqual(Array(e.toArray()[0..<3]), Array(t[12..<15]))
        // Repeated ids accumulate gradient.
        assertGradientsMatch([table]) { Tensor.embedding(ids, table: $0[0]) }
        assertGradientsMatch([randomTensor([2, 4, 3], seed: 5)]) { $0[0].indexSelect(axis: 1, indices: Tensor(indices: [3, 1, 1])) }
    }

    func testDTypeConversions() {
        let v: [Float] = [0, 1, -2.5, 65504, 1e-8, .infinity, 3.14159265]
        let t = Tensor(v)
        let h = t.to(.float16).toArray()
        XCTAssertEqual(h[0..<4], [0, 1, -2.5, 65504])
        XCTAssertEqual(h[5], .infinity)
        XCTAssertEqual(h[6], Float(Float16(3.14159265)))
        let bf = t.to(.bfloat16).toArray()
        XCTAssertEqual(bf[2], -2.5)
        // bfloat16 keeps 8 bits of mantissa: round-to-nearest-even of π is 3.140625.
        XCTAssertEqual(bf[6], 3.140625)
        XCTAssertTrue(Tensor([.nan]).to(.bfloat16).toArray()[0].isNaN)
        XCTAssertEqual(Tensor(indices: [3, -1, 7]).toArray(), [3, -1, 7])
    }

    /// The branch-free f16 → f32 widening is exact for every one of the 65,536 halves (subnormals,
    /// infinities and NaNs included), like Swift's own conversion.
    func testFloat16WideningIsExactForEveryHalf() {
        let all = (0...UInt16.max).map { $0 }
        var wide = [Float](repeating: 0, count: all.count)
        all.withUnsafeBufferPointer { src in
            wide.withUnsafeMutableBufferPointer { HalfConversion.widenFloat16(src.baseAddress!, count: all.count, into: $0.baseAddress!) }
        }
        for (bits, value) in zip(all, wide) {
            let expected = Float(Float16(bitPattern: bits))
            if expected.isNaN { XCTAssertTrue(value.isNaN, "bits \(bits)") } else { XCTAssertEqual(value.bitPattern, expected.bitPattern, "bits \(bits)") }
        }
        let halves = Tensor([0.5, -3, 65504, 6e-8]).to(.float16)
        XCTAssertEqual(halves.toFloat32().toArray(), [0.5, -3, 65504, Float(Float16(6e-8))])
    }
}
