import Foundation
import LatteKernels

/// Eigenvalues (and optionally eigenvectors) of a real symmetric matrix in Float64: Householder
/// reduction to tridiagonal form, then the implicit QL algorithm with Wilkinson-style shifts
/// (Golub & Van Loan §8.3). Storage is row-major and every inner loop runs over a contiguous row,
/// so n = 2048 takes seconds on two cores.
public struct SymmetricEigen {
    /// Eigenvalues in ascending order.
    public let values: [Double]
    /// Eigenvectors as the rows of an n×n row-major matrix (row k belongs to values[k]); empty unless asked for.
    public let vectorRows: [Double]

    /// `matrix` is n×n row-major; only its symmetric part is meaningful (it is not checked).
    public init(symmetric matrix: [Double], n: Int, computeVectors: Bool) throws {
        precondition(matrix.count == n * n, "SymmetricEigen: \(matrix.count) values for a \(n)×\(n) matrix")
        var a = matrix
        var d = [Double](repeating: 0, count: n), e = [Double](repeating: 0, count: n)
        var q: [Double] = []
        a.withUnsafeMutableBufferPointer { ap in
            Self.tridiagonalise(ap.baseAddress!, n: n, diagonal: &d, offDiagonal: &e)
            if computeVectors { q = Self.accumulateReflectors(ap.baseAddress!, n: n) }
        }
        // QL wants e[i] = T[i, i+1]; the reduction left T[i, i−1] in e[i].
        for i in 0..<max(0, n - 1) { e[i] = e[i + 1] }
        if n > 0 { e[n - 1] = 0 }
        // Rotations act on eigenvector rows: start from Qᵀ (rows = columns of Q).
        var zt = computeVectors ? Self.transposed(q, n: n) : []
        if computeVectors {
            try zt.withUnsafeMutableBufferPointer { try Self.implicitQL(&d, &e, n: n, vectorRows: $0.baseAddress!) }
        } else {
            try Self.implicitQL(&d, &e, n: n, vectorRows: nil)
        }
        let order = (0..<n).sorted { d[$0] < d[$1] }
        values = order.map { d[$0] }
        if computeVectors {
            var rows = [Double](repeating: 0, count: n * n)
            for (k, src) in order.enumerated() { for j in 0..<n { rows[k * n + j] = zt[src * n + j] } }
            vectorRows = rows
        } else {
            vectorRows = []
        }
    }

    /// Householder reduction of the leading blocks, last row first. Afterwards the diagonal is in `d`,
    /// T[i, i−1] in e[i], and row i of `a` (columns < i−1 … i) holds reflector v_i with a[i][i] = 2/vᵀv.
    static func tridiagonalise(_ a: UnsafeMutablePointer<Double>, n: Int, diagonal d: inout [Double], offDiagonal e: inout [Double]) {
        guard n > 0 else { return }
        let p = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { p.deallocate() }
        var i = n - 1
        while i >= 2 {
            let v = a + i * n          // row i, columns 0..<i: the vector x to reflect onto e_{i−1}
            var norm2 = 0.0
            for k in 0..<i { norm2 += v[k] * v[k] }
            let x = v[i - 1]
            let alpha = x >= 0 ? -norm2.squareRoot() : norm2.squareRoot()
            let rest = norm2 - x * x
            if rest <= Double.leastNormalMagnitude * 16 {
                // Already tridiagonal in this row: no reflection.
                e[i] = x
                d[i] = a[i * n + i]
                a[i * n + i] = 0           // β = 0 marks "no reflector"
                i -= 1
                continue
            }
            d[i] = a[i * n + i]
            v[i - 1] = x - alpha
            let vtv = rest + v[i - 1] * v[i - 1]
            let beta = 2 / vtv
            e[i] = alpha
            // p = β·A·v over the leading i×i block (A symmetric: row dot products).
            let m = i
            Parallel.forEach(m) { r in
                let row = a + r * n
                var s = 0.0
                for k in 0..<m { s += row[k] * v[k] }
                p[r] = beta * s
            }
            // w = p − (β·vᵀp/2)·v, then A ← A − v·wᵀ − w·vᵀ.
            var vp = 0.0
            for k in 0..<m { vp += v[k] * p[k] }
            let kfac = beta * vp / 2
            for k in 0..<m { p[k] -= kfac * v[k] }
            Parallel.forEach(m) { r in
                let row = a + r * n
                let vr = v[r], wr = p[r]
                for k in 0..<m { row[k] -= vr * p[k] + wr * v[k] }
            }
            a[i * n + i] = beta
            i -= 1
        }
        if n >= 2 {
            e[1] = a[n + 0]
            d[1] = a[n + 1]
        }
        d[0] = a[0]
        e[0] = 0
    }

    /// Q = H_{n−1}·…·H_2 (so A = Q·T·Qᵀ) from the reflectors stored by `tridiagonalise`.
    static func accumulateReflectors(_ a: UnsafePointer<Double>, n: Int) -> [Double] {
        var q = [Double](repeating: 0, count: n * n)
        for k in 0..<n { q[k * n + k] = 1 }
        guard n >= 3 else { return q }
        let s = UnsafeMutablePointer<Double>.allocate(capacity: n)
        defer { s.deallocate() }
        q.withUnsafeMutableBufferPointer { qb in
            let qp = qb.baseAddress!
            // Left-multiply by H_i for i = 2, 3, …: H_i touches rows < i, and the product so far is
            // the identity outside the leading (i−1)×(i−1) block, so columns < i suffice.
            for i in 2..<n {
                let beta = a[i * n + i]
                if beta == 0 { continue }
                let v = a + i * n
                let m = i
                // s = vᵀ·Q[0..<m, 0..<m]
                s.update(repeating: 0, count: m)
                for r in 0..<m {
                    let vr = v[r]
                    if vr == 0 { continue }
                    let row = qp + r * n
                    for k in 0..<m { s[k] += vr * row[k] }
                }
                Parallel.forEach(m) { r in
                    let f = beta * v[r]
                    let row = qp + r * n
                    for k in 0..<m { row[k] -= f * s[k] }
                }
            }
        }
        return q
    }

    static func transposed(_ m: [Double], n: Int) -> [Double] {
        var t = [Double](repeating: 0, count: n * n)
        for r in 0..<n { for c in 0..<n { t[c * n + r] = m[r * n + c] } }
        return t
    }

    /// Implicit QL on the tridiagonal (d, e) with e[i] = T[i, i+1]. When `vectorRows` is given, the
    /// rotations are applied to its rows i and i+1 (the eigenvector matrix transposed).
    static func implicitQL(_ d: inout [Double], _ e: inout [Double], n: Int, vectorRows z: UnsafeMutablePointer<Double>?) throws {
        guard n > 1 else { return }
        for l in 0..<n {
            var iterations = 0
            while true {
                // Smallest m ≥ l whose off-diagonal is negligible.
                var m = l
                while m < n - 1 {
                    let dd = abs(d[m]) + abs(d[m + 1])
                    if abs(e[m]) <= Double.ulpOfOne * dd { break }
                    m += 1
                }
                if m == l { break }
                iterations += 1
                if iterations > 60 { throw SymmetricEigenError(message: "symmetric eigensolver did not converge (eigenvalue \(l) of \(n))") }
                var g = (d[l + 1] - d[l]) / (2 * e[l])
                var r = (g * g + 1).squareRoot()
                g = d[m] - d[l] + e[l] / (g + (g >= 0 ? r : -r))
                var s = 1.0, c = 1.0, p = 0.0
                var i = m - 1
                var deflated = false
                while i >= l {
                    let f = s * e[i], b = c * e[i]
                    r = (f * f + g * g).squareRoot()
                    e[i + 1] = r
                    if r == 0 {
                        // Underflow: split the problem here and retry.
                        d[i + 1] -= p
                        e[m] = 0
                        deflated = true
                        break
                    }
                    s = f / r
                    c = g / r
                    g = d[i + 1] - p
                    r = (d[i] - g) * s + 2 * c * b
                    p = s * r
                    d[i + 1] = g + p
                    g = c * r - b
                    if let z {
                        let zi = z + i * n, zj = z + (i + 1) * n
                        for k in 0..<n {
                            let f2 = zj[k]
                            zj[k] = s * zi[k] + c * f2
                            zi[k] = c * zi[k] - s * f2
                        }
                    }
                    i -= 1
                }
                if deflated { continue }
                d[l] -= p
                e[l] = g
                e[m] = 0
            }
        }
    }
}

/// The eigensolver failed to converge (NaN or infinite input is the usual cause).
public struct SymmetricEigenError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public var description: String { message }
    public var errorDescription: String? { message }
}
