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

    enum CodingKeys: String, CodingKey { case correct, total, perCategory = "per_category" }

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
}
