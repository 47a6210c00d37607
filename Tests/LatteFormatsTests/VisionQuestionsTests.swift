import XCTest
@testable import LatteFormats

final class VisionQuestionsTests: XCTestCase {
    func testFashionExamplesAreDeterministicAndAnswerTheLabel() {
        let labels = [9, 0, 5, 8, 3]
        let a = VisionQuestions.fashion(labels: labels, seed: 7), b = VisionQuestions.fashion(labels: labels, seed: 7)
        XCTAssertEqual(a, b)
        XCTAssertNotEqual(a.map(\.question), VisionQuestions.fashion(labels: labels, seed: 8).map(\.question), "the seed picks phrasings")
        XCTAssertEqual(a.count, 15)
        XCTAssertEqual(a[0], VisionExample(task: "fashion.what", image: 0, question: a[0].question, answer: "It is an ankle boot."))
        XCTAssertEqual(a[2].answer, "Yes.")
        XCTAssertEqual(a[5].answer, "No, it is a T-shirt.")
        XCTAssertEqual(Set(a.map(\.task)), ["fashion.what", "fashion.kind", "fashion.footwear"])
        XCTAssertGreaterThan(Set(VisionQuestions.fashion(labels: Array(repeating: 1, count: 40), seed: 1).map(\.question)).count, 6,
                             "several phrasings per task")
    }

    func testDigitsAndTheFashionMatchingRule() {
        XCTAssertEqual(VisionQuestions.digits(labels: [7], seed: 1)[0].answer, "It is a 7 (seven).")
        for (label, answer) in VisionQuestions.fashionAnswers.enumerated() {
            XCTAssertTrue(VisionQuestions.namesFashionClass("It is \(answer).", label: label), answer)
            XCTAssertFalse(VisionQuestions.namesFashionClass("It is \(answer).", label: (label + 1) % 10), answer)
        }
        XCTAssertFalse(VisionQuestions.namesFashionClass("It is a T-shirt or a shirt.", label: 6), "naming two classes is wrong")
        XCTAssertTrue(VisionQuestions.namesFashionClass("A leather boot.", label: 9))
    }
}
