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

    func testEmojiExamplesAndTheirMatchingRules() {
        let facts = [EmojiFacts(name: "red heart", category: "Smileys & Emotion", colour: "red"),
                     EmojiFacts(name: "flag: France", category: "Flags", colour: nil),
                     EmojiFacts(name: "puzzle", category: "unknown", colour: "green")]
        let a = VisionQuestions.emoji(facts, seed: 3)
        XCTAssertEqual(a, VisionQuestions.emoji(facts, seed: 3))
        XCTAssertEqual(a.map(\.task), ["emoji.name", "emoji.category", "emoji.colour", "emoji.name", "emoji.category", "emoji.name", "emoji.colour"],
                       "no colour question without a colour, no category question for the unknown group")
        XCTAssertEqual(a.map(\.image), [0, 0, 0, 1, 1, 2, 2])
        XCTAssertEqual(a[0].answer, "It is the red heart emoji.")
        XCTAssertEqual(a[1].answer, "It is in smileys and emotion.")
        XCTAssertEqual(a[2].answer, "It is mostly red.")
        for e in a where e.task == "emoji.category" {
            XCTAssertTrue(VisionQuestions.namesEmojiCategory(e.answer, category: facts[e.image].category), e.answer)
            XCTAssertFalse(VisionQuestions.namesEmojiCategory(e.answer, category: "Objects"), e.answer)
        }
        XCTAssertTrue(VisionQuestions.namesColour("Mostly gray.", colour: "grey"))
        XCTAssertFalse(VisionQuestions.namesColour("Red and yellow.", colour: "red"), "two colours is not an answer")
        XCTAssertFalse(VisionQuestions.namesColour("It is reddish.", colour: "red"))
        XCTAssertTrue(VisionQuestions.namesEmoji("It is the Red Heart emoji.", name: "red heart"))
    }

    /// `tasksBySet` names exactly the tasks each generator asks.
    func testTasksBySetAreTheTasksAsked() {
        let facts = [EmojiFacts(name: "red heart", category: "Smileys & Emotion", colour: "red")]
        XCTAssertEqual(VisionQuestions.tasksBySet["fashion"], Set(VisionQuestions.fashion(labels: [0, 5], seed: 1).map(\.task)))
        XCTAssertEqual(VisionQuestions.tasksBySet["digits"], Set(VisionQuestions.digits(labels: [3], seed: 1).map(\.task)))
        XCTAssertEqual(VisionQuestions.tasksBySet["emoji"], Set(VisionQuestions.emoji(facts, seed: 1).map(\.task)))
        XCTAssertEqual(Set(VisionQuestions.tasksBySet.keys), ["fashion", "digits", "emoji"])
    }

    func testDominantColourComesFromTheOpaquePixels() {
        func image(_ rgba: [[UInt8]]) -> Image { Image(width: rgba.count, height: 1, channels: 4, pixels: rgba.flatMap { $0 }) }
        let yellow: [UInt8] = [255, 204, 51, 255], black: [UInt8] = [20, 20, 20, 255], clear: [UInt8] = [0, 0, 255, 0]
        // A yellow face with dark features: a quarter yellow is enough to beat the black.
        XCTAssertEqual(DominantColour.name(of: image([yellow, black, black, black, clear, clear])), "yellow")
        XCTAssertEqual(DominantColour.name(of: image([yellow, black, black, black, black, clear])), "black")
        XCTAssertEqual(DominantColour.name(of: image([[120, 60, 20, 255]])), "brown")
        XCTAssertEqual(DominantColour.name(of: image([[40, 90, 230, 255], [30, 200, 60, 255], [40, 90, 230, 255]])), "blue")
        XCTAssertEqual(DominantColour.name(of: image([[250, 250, 250, 255]])), "white")
        XCTAssertNil(DominantColour.name(of: image([clear, clear])), "fully transparent: no colour")
        XCTAssertEqual(DominantColour.name(of: Image(width: 1, height: 1, channels: 3, pixels: [230, 30, 40])), "red")
        XCTAssertEqual(DominantColour.name(of: Image(width: 1, height: 1, channels: 1, pixels: [128])), "grey")
    }
}
