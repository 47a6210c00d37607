import XCTest
@testable import LatteTensor

final class ReductionTests: XCTestCase {
    func testForward() {
        let x = Tensor([1, 5, 3, 4, 2, 6], shape: [2, 3])
        XCTAssertEqual(x.sum().item(), 21)
        XCTAssertEqual(x.sum(axes: [0]).toArray(), [5, 7, 9])
        XCTAssertEqual(x.sum(axes: [1], keepDims: true).shape, [2, 1])
        XCTAssertEqual(x.mean(axes: [1]).toArray(), [3, 4])
        XCTAssertEqual(x.max(axis: 1).toArray(), [5, 6])
        XCTAssertEqual(x.argmax(axis: 1).toIntArray(), [1, 2])
        XCTAssertEqual(x.argmax(axis: 0).toIntArray(), [1, 0, 1])
        assertClose(x.variance(axes: [1]).toArray(), [8.0 / 3, 8.0 / 3])
        assertClose(x.variance(axes: [1], correction: 1).toArray(), [4, 4])
        let lse = x.logSumExp(axis: 1).toArray()
        assertClose(lse, [Float(Foundation.log(Foundation.exp(1.0) + Foundation.exp(5.0) + Foundation.exp(3.0))),
                          Float(Foundation.log(Foundation.exp(4.0) + Foundation.exp(2.0) + Foundation.exp(6.0)))])
        // Large values do not overflow.
        XCTAssertEqual(Tensor([1000, 1000]).logSumExp(axis: 0).item(), 1000 + Float(Foundation.log(2.0)), accuracy: 1e-3)
        XCTAssertEqual(Tensor([-.infinity, -.infinity]).logSumExp(axis: 0).item(), -.infinity)
    }

    func testGradients() {
        let x = randomTensor([3, 4, 5], seed: 11)
        assertGradientsMatch([x]) { $0[0].sum(axes: [1]) }
        assertGradientsMatch([x]) { $0[0].sum(axes: [0, 2], keepDims: true) }
        assertGradientsMatch([x]) { $0[0].mean(axes: [2]) }
        assertGradientsMatch([x]) { $0[0].sum() }
        assertGradientsMatch([x], eps: 1e-3) { $0[0].max(axis: 1) }
        assertGradientsMatch([x]) { $0[0].logSumExp(axis: -1) }
        assertGradientsMatch([x]) { $0[0].variance(axes: [0, 1]) }
    }
}

import Foundation
