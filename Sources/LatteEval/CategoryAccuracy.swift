import Foundation

/// How often a classifier's labels match the true categories, overall and per category. Items whose
/// true label is −1 (no category) are left out. The same measure serves the classifier on real
/// held-out images and prompt adherence on images generated from their captions, so the two compare.
public struct CategoryAccuracy: Codable, Equatable, Sendable {
    public struct Count: Codable, Equatable, Sendable {
        public var correct: Int
        public var total: Int
        public var fraction: Double { Double(correct) / Double(max(total, 1)) }
    }

    public var correct: Int
    public var total: Int
    /// Per category name (categories without items are absent).
    public var perCategory: [String: Count]

    public var fraction: Double { Double(correct) / Double(max(total, 1)) }
    /// The mean of the per-category fractions: every category counts the same however many items it
    /// has (a labeller that always names the largest category scores 1 / categories here).
    public var balancedFraction: Double {
        perCategory.isEmpty ? 0 : perCategory.values.reduce(0) { $0 + $1.fraction } / Double(perCategory.count)
    }
    /// The share of the largest category: what always naming it would score.
    public var majorityFraction: Double { Double(perCategory.values.map(\.total).max() ?? 0) / Double(max(total, 1)) }

    enum CodingKeys: String, CodingKey { case correct, total, fraction, balanced, majority, perCategory = "per_category" }

    public init(predictions: [Int], labels: [Int], classNames: [String]) {
        precondition(predictions.count == labels.count, "CategoryAccuracy: \(predictions.count) predictions for \(labels.count) labels")
        var per: [String: Count] = [:]
        var correct = 0, total = 0
        for (p, l) in zip(predictions, labels) where l >= 0 && l < classNames.count {
            per[classNames[l], default: Count(correct: 0, total: 0)].total += 1
            total += 1
            if p == l { per[classNames[l]]!.correct += 1; correct += 1 }
        }
        self.correct = correct
        self.total = total
        perCategory = per
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        correct = try c.decode(Int.self, forKey: .correct)
        total = try c.decode(Int.self, forKey: .total)
        perCategory = try c.decode([String: Count].self, forKey: .perCategory)
    }

    /// Writes the derived fractions too, so a JSON reader sees them without recomputing.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(correct, forKey: .correct)
        try c.encode(total, forKey: .total)
        try c.encode(perCategory, forKey: .perCategory)
        try c.encode(fraction, forKey: .fraction)
        try c.encode(balancedFraction, forKey: .balanced)
        try c.encode(majorityFraction, forKey: .majority)
    }
}
