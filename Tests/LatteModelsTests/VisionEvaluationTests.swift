import XCTest
@testable import LatteFormats
@testable import LatteModels

/// The held-out matching rules: a right answer names the truth and nothing else, and a babbling or
/// evasive answer is wrong (the footwear rule once counted anything not starting with "yes" as a right "no").
final class VisionEvaluationTests: XCTestCase {
    func testFootwearNeedsAYesOrANo() {
        let bag = 8, boot = 9
        XCTAssertTrue(VisionEvaluation.judge(task: "fashion.footwear", answer: "No, it is a bag.", label: bag))
        XCTAssertTrue(VisionEvaluation.judge(task: "fashion.footwear", answer: "Yes.", label: boot))
        XCTAssertFalse(VisionEvaluation.judge(task: "fashion.footwear", answer: "It is a bag.", label: bag), "babbling is not a no")
        XCTAssertFalse(VisionEvaluation.judge(task: "fashion.footwear", answer: "", label: bag), "silence is not a no")
        XCTAssertFalse(VisionEvaluation.judge(task: "fashion.footwear", answer: "Nothing to say.", label: bag), "the first word must be no")
        XCTAssertFalse(VisionEvaluation.judge(task: "fashion.footwear", answer: "No.", label: boot))
        XCTAssertFalse(VisionEvaluation.judge(task: "fashion.footwear", answer: "Yes.", label: bag))
        XCTAssertFalse(VisionEvaluation.judge(task: "fashion.footwear", answer: "Yesterday it was a boot.", label: boot))
    }

    func testDigitAndEmojiRules() {
        XCTAssertTrue(VisionEvaluation.judge(task: "digit.which", answer: "It is a 7 (seven).", expected: "7"))
        XCTAssertTrue(VisionEvaluation.judge(task: "digit.which", answer: "Seven.", expected: "7"))
        XCTAssertFalse(VisionEvaluation.judge(task: "digit.which", answer: "It is a 7 or a 1.", expected: "7"), "two digits")
        XCTAssertFalse(VisionEvaluation.judge(task: "digit.which", answer: "It is a 17.", expected: "7"))
        XCTAssertTrue(VisionEvaluation.judge(task: "emoji.colour", answer: "It is mostly yellow.", expected: "yellow"))
        XCTAssertFalse(VisionEvaluation.judge(task: "emoji.colour", answer: "It is mostly red.", expected: "yellow"))
        XCTAssertTrue(VisionEvaluation.judge(task: "emoji.category", answer: "It is in food and drink.", expected: "Food & Drink"))
        XCTAssertFalse(VisionEvaluation.judge(task: "emoji.category", answer: "It is in objects.", expected: "Food & Drink"))
        XCTAssertTrue(VisionEvaluation.judge(task: "emoji.name", answer: "It is the red heart emoji.", expected: "red heart"))
        XCTAssertFalse(VisionEvaluation.judge(task: "unknown.task", answer: "anything", expected: "anything"))
    }

    func testScoresAndMajorityBaselines() {
        // Four bags and one boot: the footwear baseline is "no" on 4 of 5; one babbled answer is wrong.
        let labels = [8, 8, 8, 8, 9]
        let questions = VisionEvaluation.fashionQuestions(labels: labels, seed: 1)
        let answers = questions.map { q -> String in
            let label = Int(q.expected)!
            switch q.task {
            case "fashion.what": return "It is \(VisionQuestions.fashionAnswers[label])."
            case "fashion.kind": return "It is \(VisionQuestions.fashionKinds[label])."
            default: return q.image == 0 ? "It is a bag." : label == 9 ? "Yes." : "No, it is a bag."
            }
        }
        let result = VisionEvaluation.score(questions: questions, answers: answers)
        XCTAssertEqual(result.tasks["fashion.footwear"]?.accuracy ?? 0, 0.8, accuracy: 1e-9)
        XCTAssertEqual(result.tasks["fashion.footwear"]?.chance ?? 0, 0.8, accuracy: 1e-9)
        XCTAssertEqual(result.tasks["fashion.what"]?.accuracy, 1)
        XCTAssertEqual(result.tasks["fashion.what"]?.chance ?? 0, 0.8, accuracy: 1e-9)
        XCTAssertEqual(result.examples.filter { !$0.correct }.map(\.answer), ["It is a bag."])
        let merged = VisionEvaluation.merged([result, VisionEvaluation.score(questions: VisionEvaluation.digitQuestions(labels: [3], seed: 1), answers: ["Three."])])
        XCTAssertEqual(merged.tasks.keys.sorted(), ["digit.which", "fashion.footwear", "fashion.kind", "fashion.what"])
        XCTAssertEqual(merged.tasks["digit.which"]?.accuracy, 1)
    }
}
