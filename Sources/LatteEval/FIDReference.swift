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
        var header = Array(("{\"__metadata__\":{\"count\":\"\(statistics.count)\"},"
            + "\"factor\":{\"dtype\":\"F64\",\"shape\":[\(d),\(d)],\"data_offsets\":[0,\(d * d * 8)]}}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        try writeAtomically(url) { handle in
            var length = UInt64(header.count).littleEndian
            handle.write(Data(bytes: &length, count: 8))
            handle.write(Data(header))
            factor.withUnsafeBytes { handle.write(Data($0)) }
        }
    }

    /// Reads a factor written by `writeFactor` for `statistics`; a file of another size or count is refused.
    public init(statistics: FIDStatistics, factorFile url: URL) throws {
        let file = try MappedFile(url: url)
        func fail(_ message: String) -> FIDError { FIDError("\(url.path): \(message)") }
        guard file.size >= 8 else { throw fail("too short for a safetensors file") }
        let headerLength = Int(UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, headerLength <= file.size - 8 else { throw fail("bad header length \(headerLength)") }
        let json = Data(bytes: file.base + 8, count: headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { throw fail("header is not JSON") }
        let d = statistics.dimension
        guard let info = header["factor"] as? [String: Any], info["dtype"] as? String == "F64",
              info["shape"] as? [Int] == [d, d], let offsets = info["data_offsets"] as? [Int], offsets.count == 2,
              offsets[0] == 0, offsets[1] == d * d * 8, 8 + headerLength + offsets[1] <= file.size else {
            throw fail("no F64 tensor 'factor' of shape [\(d), \(d)]")
        }
        let meta = header["__metadata__"] as? [String: String] ?? [:]
        guard meta["count"] == "\(statistics.count)" else {
            throw fail("factor of \(meta["count"] ?? "an unknown number of") samples, the statistics have \(statistics.count)")
        }
        let start = file.base + 8 + headerLength
        let factor = (0..<(d * d)).map { start.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
        self.init(statistics: statistics, factor: factor)
    }
}
