import Foundation
import LatteTensor

/// A reference set's FID statistics with the part of the Fréchet distance that depends on it alone:
/// the factor F = √Λ·Vᵀ of its covariance Σ_r = V·Λ·Vᵀ (so Σ_r = Fᵀ·F).
///
/// tr √(Σ_g·Σ_r) equals Σ √μᵢ over the eigenvalues μ of the symmetric F·Σ_g·Fᵀ, so with F known a
/// distance needs two matrix products and a values-only eigensolve. The eigenvectors were the cost:
/// at D = 2048 the full decomposition takes about a minute on one core, the rest a few seconds. The
/// reference (the 10k test images) is the same in every evaluation, so its factor is computed once
/// and stored beside its statistics (`FashionMNISTFID.testReference`).
public struct FIDReference: Sendable {
    public let statistics: FIDStatistics
    /// D×D row-major: row k is √λ_k times eigenvector k (negative rounding noise in λ clamped to 0).
    public let factor: [Double]
    /// tr Σ_r.
    public var trace: Double { (0..<statistics.dimension).reduce(0) { $0 + statistics.covariance[$1 * statistics.dimension + $1] } }

    public init(statistics: FIDStatistics) throws {
        let n = statistics.dimension
        let eig = try SymmetricEigen(symmetric: statistics.covariance, n: n, computeVectors: true)
        var factor = eig.vectorRows
        for k in 0..<n {
            let root = max(eig.values[k], 0).squareRoot()
            for j in 0..<n { factor[k * n + j] *= root }
        }
        self.init(statistics: statistics, factor: factor)
    }

    public init(statistics: FIDStatistics, factor: [Double]) {
        precondition(factor.count == statistics.dimension * statistics.dimension, "FIDReference: factor of \(factor.count) values for dimension \(statistics.dimension)")
        (self.statistics, self.factor) = (statistics, factor)
    }
}

/// The factor on disk: a safetensors file with the F64 tensor `factor` [D, D] and, in its metadata,
/// the sample count of the statistics it was computed from (a factor is only ever read together with
/// those statistics; `FashionMNISTFID` keys both files by the same content hash).
extension FIDReference {
    public func writeFactor(to url: URL) throws {
        let d = statistics.dimension
        try Float64SafetensorsFile.write([("factor", [d, d], factor)], metadata: ["count": "\(statistics.count)"], to: url)
    }

    /// Reads a factor written by `writeFactor` for `statistics`; a file of another size or count is refused.
    public init(statistics: FIDStatistics, factorFile url: URL) throws {
        let file = try Float64SafetensorsFile.Reader(url)
        let d = statistics.dimension
        guard file.shape("factor") == [d, d] else { throw FIDError("\(url.path): no F64 tensor 'factor' of shape [\(d), \(d)]") }
        guard file.metadata["count"] == "\(statistics.count)" else {
            throw FIDError("\(url.path): factor of \(file.metadata["count"] ?? "an unknown number of") samples, the statistics have \(statistics.count)")
        }
        self.init(statistics: statistics, factor: try file.values("factor", count: d * d))
    }
}
