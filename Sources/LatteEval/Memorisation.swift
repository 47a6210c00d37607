import Foundation
import LatteKernels
import LatteTensor

/// Does a generator copy its training set? Each generated image's distance to its nearest training
/// image, in a feature space (the FID network's pool features), is compared with how close *real
/// unseen* images come to the training set: each held-out image's nearest-training distance.
///
/// The threshold is the `percentile`-th percentile of the held-out distances (5 by default: closer than
/// 95 % of fresh real images come). A generated image below it is a near-copy. By construction about
/// `percentile` % of held-out images fall below, so a generator that draws fresh images like the real
/// data's scores near that; one that reproduces training images scores far above it.
public enum Memorisation {
    public struct Report: Codable, Equatable, Sendable {
        /// The percentile of held-out nearest-training distances used as the threshold.
        public var percentile: Double
        public var threshold: Double
        /// Generated images closer to a training image than the threshold, and their share.
        public var flagged: Int
        public var generated: Int
        public var fraction: Double
        /// Share of held-out images below the threshold (≈ percentile / 100 by construction: the baseline).
        public var heldOutFraction: Double
        public var heldOut: Int
        public var training: Int
        /// Medians of the nearest-training distances: how far generated and held-out images typically are.
        public var generatedMedianDistance: Double
        public var heldOutMedianDistance: Double

        enum CodingKeys: String, CodingKey {
            case percentile, threshold, flagged, generated, fraction, training
            case heldOutFraction = "held_out_fraction", heldOut = "held_out"
            case generatedMedianDistance = "generated_median_distance", heldOutMedianDistance = "held_out_median_distance"
        }
    }

    /// The report for features [N, D] of training, held-out and generated images.
    public static func report(training: Tensor, heldOut: Tensor, generated: Tensor, percentile: Double = 5) throws -> Report {
        guard percentile >= 0, percentile <= 100 else { throw FIDError("the memorisation percentile must be in 0…100, got \(percentile)") }
        guard heldOut.rank == 2, heldOut.shape[0] >= 1 else { throw FIDError("memorisation needs held-out features [N ≥ 1, D], got \(heldOut.shape)") }
        let heldOutDistances = try nearestDistances(queries: heldOut, references: training)
        let generatedDistances = try nearestDistances(queries: generated, references: training)
        let threshold = Self.percentile(heldOutDistances, percentile)
        let flagged = generatedDistances.filter { $0 < threshold }.count
        return Report(percentile: percentile, threshold: threshold, flagged: flagged, generated: generatedDistances.count,
                      fraction: Double(flagged) / Double(max(generatedDistances.count, 1)),
                      heldOutFraction: Double(heldOutDistances.filter { $0 < threshold }.count) / Double(heldOutDistances.count),
                      heldOut: heldOutDistances.count, training: training.shape[0],
                      generatedMedianDistance: Self.percentile(generatedDistances, 50),
                      heldOutMedianDistance: Self.percentile(heldOutDistances, 50))
    }

    /// Euclidean distance from each query row [Q, D] to its nearest reference row [R, D]:
    /// |q − r|² = |q|² + |r|² − 2 q·r with the dot products from the GEMM kernel, 256 queries at a time.
    /// Negative rounding noise is clamped to 0 (an exact copy has distance ~0, not NaN).
    public static func nearestDistances(queries: Tensor, references: Tensor) throws -> [Double] {
        guard queries.rank == 2, references.rank == 2, references.shape[0] >= 1, queries.shape[1] == references.shape[1] else {
            throw FIDError("nearest distances need features [Q, D] and [R ≥ 1, D], got \(queries.shape) and \(references.shape)")
        }
        let (q, r, d) = (queries.shape[0], references.shape[0], queries.shape[1])
        let a = queries.toFloat32().contiguous(), b = references.toFloat32().contiguous()
        func squaredNorms(_ t: Tensor, _ rows: Int) -> [Double] {
            (0..<rows).map { i in var s = 0.0; for k in 0..<d { let v = Double(t.f32[i * d + k]); s += v * v }; return s }
        }
        let qn = squaredNorms(a, q), rn = squaredNorms(b, r)
        var out = [Double](repeating: 0, count: q)
        let chunk = 256
        let dots = UnsafeMutablePointer<Float>.allocate(capacity: chunk * r)
        defer { dots.deallocate() }
        withExtendedLifetime((a, b)) {
            var start = 0
            while start < q {
                let rows = min(chunk, q - start)
                // dots[i, j] = q_i · r_j
                Gemm.sgemm(transposeA: false, transposeB: true, m: rows, n: r, k: d, alpha: 1,
                           a: a.f32 + start * d, lda: d, b: b.f32, ldb: d, beta: 0, c: dots, ldc: r)
                for i in 0..<rows {
                    var best = Double.infinity
                    let row = dots + i * r
                    for j in 0..<r { best = min(best, rn[j] - 2 * Double(row[j])) }
                    out[start + i] = max(qn[start + i] + best, 0).squareRoot()
                }
                start += rows
            }
        }
        return out
    }

    /// The p-th percentile with linear interpolation between order statistics (numpy's default).
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return .nan }
        let sorted = values.sorted()
        let rank = p / 100 * Double(sorted.count - 1)
        let lo = Int(rank.rounded(.down)), hi = min(lo + 1, sorted.count - 1)
        return sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - Double(lo))
    }
}
