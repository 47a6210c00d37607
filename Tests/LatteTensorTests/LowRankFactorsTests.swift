import Foundation
import LatteTensor
import XCTest

/// `LowRankFactors` on matrices built from known singular directions: the leading rank-r part comes
/// back (Eckart–Young), on both sides of the Gram choice (tall and wide), exactly at full rank, with the
/// share of squared norm it keeps; a zero matrix is no problem.
final class LowRankFactorsTests: XCTestCase {
    // Orthonormal 6-vectors and 4-vectors (rows of scaled sign patterns), and singular values 5, 3, 1.
    let u: [[Float]] = [[1, 1, 1, 1, 1, 1].map { $0 / Float(6).squareRoot() },
                        [1, -1, 1, -1, 1, -1].map { $0 / Float(6).squareRoot() },
                        [1, 1, -1, -1, 0, 0].map { $0 / 2 }]
    let v: [[Float]] = [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1]].map { $0.map { $0 / 2 } }
    let sigma: [Float] = [5, 3, 1]

    /// Σ_k<terms σ_k u_k v_kᵀ (6×4), or its transpose (4×6).
    func matrix(terms: Int, transposed: Bool = false) -> [Float] {
        var m = [Float](repeating: 0, count: 24)
        for k in 0..<terms {
            for i in 0..<6 { for j in 0..<4 {
                let value = sigma[k] * u[k][i] * v[k][j]
                if transposed { m[j * 6 + i] += value } else { m[i * 4 + j] += value }
            } }
        }
        return m
    }

    /// left · right through the engine's matmul, rows×columns row-major.
    func product(_ f: LowRankFactors) -> [Float] {
        Tensor(f.left, shape: [f.rows, f.rank]).matmul(Tensor(f.right, shape: [f.rank, f.columns])).toArray()
    }

    func assertClose(_ a: [Float], _ b: [Float], _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(a.count, b.count, message, file: file, line: line)
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThan(worst, 1e-5, message, file: file, line: line)
    }

    func testKeepsTheLeadingSingularDirections() throws {
        for transposed in [false, true] {
            let (rows, columns) = transposed ? (4, 6) : (6, 4)
            let f = try LowRankFactors(matrix: matrix(terms: 3, transposed: transposed), rows: rows, columns: columns, rank: 2)
            XCTAssertEqual(f.left.count, rows * 2)
            XCTAssertEqual(f.right.count, 2 * columns)
            assertClose(product(f), matrix(terms: 2, transposed: transposed), "rank 2 of \(rows)×\(columns)")
            XCTAssertEqual(f.energyKept, 34.0 / 35.0, accuracy: 1e-6, "(25 + 9) / (25 + 9 + 1), of a matrix built in Float")
            let exact = try LowRankFactors(matrix: matrix(terms: 3, transposed: transposed), rows: rows, columns: columns, rank: 3)
            assertClose(product(exact), matrix(terms: 3, transposed: transposed), "rank 3 is the whole matrix")
            XCTAssertEqual(exact.energyKept, 1, accuracy: 1e-6)
        }
    }

    func testZeroMatrix() throws {
        let f = try LowRankFactors(matrix: [Float](repeating: 0, count: 12), rows: 3, columns: 4, rank: 2)
        XCTAssertEqual(product(f), [Float](repeating: 0, count: 12))
        XCTAssertEqual(f.energyKept, 1)
    }
}
