import Foundation
import LatteTensor

/// The difference between a module's weights and a fine-tuned copy of them, stored small: each matrix's
/// difference as its best rank-r approximation (`LowRankFactors`, under `KEY.delta_left` m×r and
/// `KEY.delta_right` r×n) where two thin factors are smaller than the matrix, every other tensor's
/// difference whole (`KEY.delta`). A fine-tune moves a model's matrices along a few directions, so a
/// small rank keeps most of it: at rank 16 the default model's image-prompt adapter keeps 82 % of the
/// fine-tune's squared change in 18 % of a full copy's values, and draws image prompts as well as the
/// whole fine-tune (docs/vision.md).
public enum LowRankDelta {
    /// What `extract` kept: the share of the whole difference's squared norm (1 = exact) and the count
    /// of values stored against the tuned weights' own count.
    public struct Summary: Sendable {
        public var energyKept: Double
        public var storedValues: Int
        public var fullValues: Int
        public var factoredMatrices: Int
    }

    /// The delta tuned − base at `rank`: the same keys and shapes on both sides, or an error naming the first that differs.
    public static func extract(base: [String: Tensor], tuned: [String: Tensor], rank: Int) throws -> (tensors: [String: Tensor], summary: Summary) {
        guard rank >= 1 else { throw LowRankDeltaError("rank must be at least 1 (got \(rank))") }
        if let extra = tuned.keys.sorted().first(where: { base[$0] == nil }) { throw LowRankDeltaError("the tuned weights have '\(extra)', the base weights have not") }
        if let missing = base.keys.sorted().first(where: { tuned[$0] == nil }) { throw LowRankDeltaError("the base weights have '\(missing)', the tuned weights have not") }
        var out: [String: Tensor] = [:]
        var summary = Summary(energyKept: 1, storedValues: 0, fullValues: 0, factoredMatrices: 0)
        var total = 0.0, lost = 0.0
        for key in base.keys.sorted() {
            let b = base[key]!, t = tuned[key]!
            guard b.shape == t.shape else { throw LowRankDeltaError("'\(key)': base shape \(b.shape), tuned shape \(t.shape)") }
            let bv = b.toArray(), tv = t.toArray()
            let difference = zip(tv, bv).map { $0 - $1 }
            let energy = difference.reduce(0.0) { $0 + Double($1) * Double($1) }
            guard energy.isFinite else { throw LowRankDeltaError("'\(key)': the difference is not finite (NaN or infinity in either weights)") }
            total += energy
            summary.fullValues += difference.count
            if b.rank == 2, rank * (b.shape[0] + b.shape[1]) < b.count {
                let (m, n) = (b.shape[0], b.shape[1])
                let factors = try LowRankFactors(matrix: difference, rows: m, columns: n, rank: rank)
                out[key + ".delta_left"] = Tensor(factors.left, shape: [m, rank])
                out[key + ".delta_right"] = Tensor(factors.right, shape: [rank, n])
                lost += energy * (1 - factors.energyKept)
                summary.storedValues += rank * (m + n)
                summary.factoredMatrices += 1
            } else {
                out[key + ".delta"] = Tensor(difference, shape: b.shape)
                summary.storedValues += difference.count
            }
        }
        summary.energyKept = total > 0 ? 1 - lost / total : 1
        return (out, summary)
    }

    /// base + delta, for every key the delta names (the others as they are). Every delta tensor must
    /// belong to a base tensor of the matching shape: a delta made for other weights is refused.
    public static func apply(_ delta: [String: Tensor], to base: [String: Tensor]) throws -> [String: Tensor] {
        var out = base
        var used = Set<String>()
        for key in base.keys.sorted() {
            let b = base[key]!
            if let full = delta[key + ".delta"] {
                guard full.shape == b.shape else { throw LowRankDeltaError("'\(key).delta' has shape \(full.shape), the weight '\(key)' has \(b.shape)") }
                out[key] = b.toFloat32() + full.toFloat32()
                used.insert(key + ".delta")
            } else if let l = delta[key + ".delta_left"], let r = delta[key + ".delta_right"] {
                guard b.rank == 2, l.rank == 2, r.rank == 2, l.shape[0] == b.shape[0], r.shape[1] == b.shape[1], l.shape[1] == r.shape[0] else {
                    throw LowRankDeltaError("'\(key).delta_left' \(l.shape) · '\(key).delta_right' \(r.shape) does not make the weight's shape \(b.shape)")
                }
                out[key] = b.toFloat32() + l.toFloat32().matmul(r.toFloat32())
                used.formUnion([key + ".delta_left", key + ".delta_right"])
            }
        }
        if let stray = delta.keys.sorted().first(where: { !used.contains($0) }) {
            throw LowRankDeltaError("the delta has '\(stray)', which belongs to no weight of the model (a delta for other weights?)")
        }
        return out
    }
}

/// A delta that does not fit the weights it is extracted from or applied to.
public struct LowRankDeltaError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
