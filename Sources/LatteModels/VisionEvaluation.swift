import Foundation
import LatteFormats
import LatteTensor

/// Held-out accuracy of the vision path per task, by greedy answers (`VisionAnswerer`, the one-question
/// layout) judged with the matching rules of `VisionQuestions` (`matchingRules` prints them):
/// - fashion.what: the answer names the image's class and no other (`namesFashionClass`, synonyms in
///   `VisionQuestions.fashionSynonyms`); chance 10 %;
/// - fashion.kind: the answer contains the kind's words ("footwear", "top", "clothing for the legs",
///   "dress", "outerwear", "bag") and no other kind's;
/// - fashion.footwear: the answer's first word is "yes" for footwear and "no" otherwise (anything else,
///   such as a babbled "It is a bag.", is wrong);
/// - digit.which: the answer names the digit (its figure or its word) and no other digit;
/// - emoji.name / emoji.category / emoji.colour: `namesEmoji`, `namesEmojiCategory`, `namesColour`.
/// Each task's baseline is the majority answer's share on the same questions (always answering the
/// most frequent class, kind, colour, …).
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
        /// What a right answer names: the class index ("9"), the colour ("yellow"), the group, the emoji's name.
        public var expected: String
        public var correct: Bool
    }

    /// One held-out question: `image` is a row of the tokens it is asked about; `expected` as in `Example`.
    public struct Question: Sendable {
        public var task: String
        public var question: String
        public var image: Int
        public var expected: String

        public init(task: String, question: String, image: Int, expected: String) {
            (self.task, self.question, self.image, self.expected) = (task, question, image, expected)
        }
    }

    public var tasks: [String: Score]
    public var examples: [Example]
    public var matchingRule: String

    public static let matchingRules = """
        an answer is right when — fashion.what: it names the class and no other (synonyms \(VisionQuestions.fashionSynonyms)); \
        fashion.kind: it contains the kind (\(Set(VisionQuestions.fashionKinds).sorted())) and no other; fashion.footwear: its first word \
        is "yes" for footwear (classes \(VisionQuestions.footwear.sorted())) and "no" otherwise; digit.which: it names the digit as a figure \
        or a word (\(VisionQuestions.digitWords)) and no other; emoji.name: it contains the emoji's CLDR short name; emoji.category: it \
        names the Unicode group (its words or first word) and no other group; emoji.colour: it names the colour (gray = grey, violet = \
        purple) and no other of \(DominantColour.names)
        """

    /// The three Fashion-MNIST questions (phrasings from `VisionQuestions.fashion(labels:seed:)`) about each image.
    public static func fashionQuestions(labels: [Int], seed: UInt64) -> [Question] {
        VisionQuestions.fashion(labels: labels, seed: seed).map { Question(task: $0.task, question: $0.question, image: $0.image, expected: "\(labels[$0.image])") }
    }

    public static func digitQuestions(labels: [Int], seed: UInt64) -> [Question] {
        VisionQuestions.digits(labels: labels, seed: seed).map { Question(task: $0.task, question: $0.question, image: $0.image, expected: "\(labels[$0.image])") }
    }

    public static func emojiQuestions(_ facts: [EmojiFacts], seed: UInt64) -> [Question] {
        VisionQuestions.emoji(facts, seed: seed).map { e in
            let f = facts[e.image]
            let expected = e.task == "emoji.category" ? f.category : e.task == "emoji.colour" ? (f.colour ?? "") : f.name
            return Question(task: e.task, question: e.question, image: e.image, expected: expected)
        }
    }

    /// Asks the three Fashion-MNIST questions about every image of `tokens` [N, T, C].
    public static func fashion(answerer: VisionAnswerer, tokens: Tensor, labels: [Int], seed: UInt64,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> VisionEvaluation {
        try evaluate(answerer: answerer, tokens: tokens, questions: fashionQuestions(labels: labels, seed: seed), progress: progress)
    }

    /// Asks `questions` about the images of `tokens` [N, T, C], one at a time, greedy answers of at most
    /// `maxTokens` tokens.
    public static func evaluate(answerer: VisionAnswerer, tokens: Tensor, questions: [Question], maxTokens: Int = 16,
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> VisionEvaluation {
        var answers: [String] = []
        for (i, q) in questions.enumerated() {
            answers.append(try answerer.answer(q.question, tokens: tokens.sliced(axis: 0, q.image..<(q.image + 1)), maxTokens: maxTokens))
            progress(i + 1, questions.count)
        }
        return score(questions: questions, answers: answers)
    }

    /// Judges `answers` (one per question) and computes each task's accuracy and majority baseline.
    public static func score(questions: [Question], answers: [String]) -> VisionEvaluation {
        precondition(questions.count == answers.count, "one answer per question")
        var right: [String: Int] = [:], count: [String: Int] = [:], answersSeen: [String: [String: Int]] = [:]
        var examples: [Example] = []
        for (q, answer) in zip(questions, answers) {
            let ok = judge(task: q.task, answer: answer, expected: q.expected)
            count[q.task, default: 0] += 1
            if ok { right[q.task, default: 0] += 1 }
            answersSeen[q.task, default: [:]][expectedKey(task: q.task, expected: q.expected), default: 0] += 1
            examples.append(Example(task: q.task, question: q.question, answer: answer, expected: q.expected, correct: ok))
        }
        var tasks: [String: Score] = [:]
        for (task, n) in count {
            let majority = answersSeen[task]!.values.max()!
            tasks[task] = Score(accuracy: Double(right[task, default: 0]) / Double(n), count: n, chance: Double(majority) / Double(n))
        }
        return VisionEvaluation(tasks: tasks, examples: examples, matchingRule: matchingRules)
    }

    /// Several held-out sets' results as one (their tasks are disjoint).
    public static func merged(_ parts: [VisionEvaluation]) -> VisionEvaluation {
        var tasks: [String: Score] = [:]
        for p in parts { tasks.merge(p.tasks) { a, _ in a } }
        return VisionEvaluation(tasks: tasks, examples: parts.flatMap(\.examples), matchingRule: matchingRules)
    }

    /// What the majority baseline counts: the right answer's class of answers (a kind, yes/no, a class…).
    static func expectedKey(task: String, expected: String) -> String {
        switch task {
        case "fashion.kind": return Int(expected).map { VisionQuestions.fashionKinds[$0] } ?? expected
        case "fashion.footwear": return Int(expected).map { VisionQuestions.footwear.contains($0) ? "yes" : "no" } ?? expected
        default: return expected
        }
    }

    static func kindWords(_ kind: String) -> String { kind.hasPrefix("a ") ? String(kind.dropFirst(2)) : kind }

    /// Whether `answer` is right for `task` about an image of Fashion-MNIST class `label`.
    public static func judge(task: String, answer: String, label: Int) -> Bool {
        judge(task: task, answer: answer, expected: "\(label)")
    }

    /// Whether `answer` is right for `task` when the right answer names `expected` (see `Example.expected`).
    public static func judge(task: String, answer: String, expected: String) -> Bool {
        let lower = answer.lowercased()
        let words = lower.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init)
        switch task {
        case "fashion.what":
            guard let label = Int(expected), (0..<10).contains(label) else { return false }
            return VisionQuestions.namesFashionClass(answer, label: label)
        case "fashion.kind":
            guard let label = Int(expected), (0..<10).contains(label) else { return false }
            let padded = " " + lower.filter { $0.isLetter || $0 == " " } + " "
            func says(_ kind: String) -> Bool { padded.contains(" " + kindWords(kind) + " ") }
            let mine = VisionQuestions.fashionKinds[label]
            return says(mine) && Set(VisionQuestions.fashionKinds).allSatisfy { $0 == mine || !says($0) }
        case "fashion.footwear":
            guard let label = Int(expected), (0..<10).contains(label) else { return false }
            return words.first == (VisionQuestions.footwear.contains(label) ? "yes" : "no")
        case "digit.which":
            guard let digit = Int(expected), (0..<10).contains(digit) else { return false }
            func names(_ d: Int) -> Bool { words.contains("\(d)") || words.contains(VisionQuestions.digitWords[d]) }
            return names(digit) && (0..<10).allSatisfy { $0 == digit || !names($0) }
        case "emoji.name": return VisionQuestions.namesEmoji(answer, name: expected)
        case "emoji.category": return VisionQuestions.namesEmojiCategory(answer, category: expected)
        case "emoji.colour": return VisionQuestions.namesColour(answer, colour: expected)
        default: return false
        }
    }

    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
