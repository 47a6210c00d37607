import Foundation

/// The best rank-r approximation of a matrix (Eckart–Young: its r largest singular directions) as two
/// factors, `left` (m×r) · `right` (r×n). Computed in Float64 from the eigenvectors of the smaller Gram
/// matrix: with n ≤ m, the top r eigenvectors V_r of DᵀD give right = V_rᵀ and left = D·V_r, which is
/// D projected onto those directions — no division by a singular value, so a rank-deficient matrix is
/// no problem. Meant for the small matrices of a generator (hundreds of rows), not for large ones.
public struct LowRankFactors {
    public let left: [Float]
    public let right: [Float]
    public let rows: Int, columns: Int, rank: Int
    /// The share of the matrix's squared Frobenius norm the factors keep (1 for an exact factorisation;
    /// 1 for a zero matrix too).
    public let energyKept: Double

    /// `matrix` is rows×columns, row-major; `rank` at most min(rows, columns).
    public init(matrix: [Float], rows: Int, columns: Int, rank: Int) throws {
        precondition(matrix.count == rows * columns, "LowRankFactors: \(matrix.count) values for a \(rows)×\(columns) matrix")
        precondition(rank >= 1 && rank <= min(rows, columns), "LowRankFactors: rank \(rank) of a \(rows)×\(columns) matrix")
        let d = matrix.map(Double.init)
        // Work on the side with fewer entries: the Gram matrix of the columns (n×n) or of the rows (m×m).
        let byColumns = columns <= rows
        let n = byColumns ? columns : rows
        var gram = [Double](repeating: 0, count: n * n)
        for i in 0..<n {
            for j in i..<n {
                var s = 0.0
                if byColumns { for k in 0..<rows { s += d[k * columns + i] * d[k * columns + j] } }
                else { for k in 0..<columns { s += d[i * columns + k] * d[j * columns + k] } }
                gram[i * n + j] = s; gram[j * n + i] = s
            }
        }
        let eigen = try SymmetricEigen(symmetric: gram, n: n, computeVectors: true)
        let total = eigen.values.reduce(0) { $0 + max($1, 0) }
        // Eigenvalues ascend: the last `rank` rows are the leading directions (largest first below).
        let top = (0..<rank).map { n - 1 - $0 }
        let kept = top.reduce(0.0) { $0 + max(eigen.values[$1], 0) }
        energyKept = total > 0 ? min(kept / total, 1) : 1
        var l = [Float](repeating: 0, count: rows * rank), r = [Float](repeating: 0, count: rank * columns)
        for (c, e) in top.enumerated() {
            let v = eigen.vectorRows[(e * n)..<(e * n + n)].map { $0 }   // unit vector in the worked-on space
            if byColumns {
                // right row c = vᵀ; left column c = D·v.
                for j in 0..<columns { r[c * columns + j] = Float(v[j]) }
                for i in 0..<rows {
                    var s = 0.0
                    for j in 0..<columns { s += d[i * columns + j] * v[j] }
                    l[i * rank + c] = Float(s)
                }
            } else {
                // left column c = u; right row c = uᵀ·D.
                for i in 0..<rows { l[i * rank + c] = Float(v[i]) }
                for j in 0..<columns {
                    var s = 0.0
                    for i in 0..<rows { s += v[i] * d[i * columns + j] }
                    r[c * columns + j] = Float(s)
                }
            }
        }
        (left, right, self.rows, self.columns, self.rank) = (l, r, rows, columns, rank)
    }
}
