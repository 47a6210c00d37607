import Foundation
import LatteFormats
import LatteTensor

/// Held-out accuracy of the vision path per task, by greedy answers (`VisionAnswerer`) judged with the
/// matching rules of `VisionQuestions`:
/// - fashion.what: the answer names the image's class and no other (`namesFashionClass`, synonyms in
///   `VisionQuestions.fashionSynonyms`); chance 10 %;
/// - fashion.kind: the answer contains the kind's words ("footwear", "top", "clothing for the legs",
///   "dress", "outerwear", "bag") and no other kind's; chance: the largest kind's share;
/// - fashion.footwear: the answer starts with "yes" exactly when the item is footwear; chance: the
///   majority answer's share.
public struct VisionEvaluation: Codable, Sendable {
    public struct Score: Codable, Sendable {
        public var accuracy: Double
        public var count: Int
        /// The majority-answer baseline on the same questions.
        public var chance: Double
    }

    public struct Example: Codable, Sendable {
        public var task: String
        public var question: String
        public var answer: String
        public var label: Int
        public var correct: Bool
    }

    public var tasks: [String: Score]
    public var examples: [Example]
    public var matchingRule: String

    /// Asks the three Fashion-MNIST questions (phrasings from `VisionQuestions.fashion(labels:seed:)`)
    /// about every image of `tokens` [N, T, C].
    public static func fashion(answerer: VisionAnswerer, tokens: Tensor, labels: [Int], seed: UInt64,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> VisionEvaluation {
        let questions = VisionQuestions.fashion(labels: labels, seed: seed)
        var right: [String: Int] = [:], count: [String: Int] = [:], answersSeen: [String: [String: Int]] = [:]
        var examples: [Example] = []
        for (i, q) in questions.enumerated() {
            let label = labels[q.image]
            let t = tokens.sliced(axis: 0, q.image..<(q.image + 1))
            let answer = try answerer.answer(q.question, tokens: t, maxTokens: 16)
            let ok = judge(task: q.task, answer: answer, label: label)
            count[q.task, default: 0] += 1
            if ok { right[q.task, default: 0] += 1 }
            answersSeen[q.task, default: [:]][expectedKey(task: q.task, label: label), default: 0] += 1
            examples.append(Example(task: q.task, question: q.question, answer: answer, label: label, correct: ok))
            progress(i + 1, questions.count)
        }
        var tasks: [String: Score] = [:]
        for (task, n) in count {
            let majority = answersSeen[task]!.values.max()!
            tasks[task] = Score(accuracy: Double(right[task, default: 0]) / Double(n), count: n, chance: Double(majority) / Double(n))
        }
        return VisionEvaluation(tasks: tasks, examples: examples, matchingRule: """
            fashion.what: names the class and no other (synonyms \(VisionQuestions.fashionSynonyms)); fashion.kind: contains the kind \
            (\(Set(VisionQuestions.fashionKinds).sorted())) and no other; fashion.footwear: starts with yes exactly for footwear
            """)
    }

    static func expectedKey(task: String, label: Int) -> String {
        switch task {
        case "fashion.kind": return VisionQuestions.fashionKinds[label]
        case "fashion.footwear": return VisionQuestions.footwear.contains(label) ? "yes" : "no"
        default: return "\(label)"
        }
    }

    static func kindWords(_ kind: String) -> String { kind.hasPrefix("a ") ? String(kind.dropFirst(2)) : kind }

    /// Whether `answer` is right for `task` about an image of Fashion-MNIST class `label`.
    public static func judge(task: String, answer: String, label: Int) -> Bool {
        let lower = answer.lowercased()
        switch task {
        case "fashion.what": return VisionQuestions.namesFashionClass(answer, label: label)
        case "fashion.kind":
            let padded = " " + lower.filter { $0.isLetter || $0 == " " } + " "
            func says(_ kind: String) -> Bool { padded.contains(" " + kindWords(kind) + " ") }
            let mine = VisionQuestions.fashionKinds[label]
            return says(mine) && Set(VisionQuestions.fashionKinds).allSatisfy { $0 == mine || !says($0) }
        case "fashion.footwear":
            return lower.hasPrefix("yes") == VisionQuestions.footwear.contains(label)
        default: return false
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
