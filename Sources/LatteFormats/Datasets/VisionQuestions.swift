import Foundation

/// One example for the vision path: an image of a dataset (by index), a question about it and a short,
/// natural answer. Training puts the loss on the answer's tokens only.
public struct VisionExample: Equatable, Sendable {
    /// The task the example tests ("fashion.what", "fashion.kind", "fashion.footwear", "digit.which", …):
    /// accuracy is reported per task on its held-out split.
    public let task: String
    public let image: Int
    public let question: String
    public let answer: String
}

/// Questions and answers about labelled images, several phrasings per task, chosen per image by a
/// seeded SplitMix64 stream so a dataset of examples is the same on every machine for the same seed.
/// Held-out splits come from the datasets themselves (Fashion-MNIST's test split; for MNIST-5k and the
/// emoji their own held-out parts), never from shuffling examples of one image into both sides.
public enum VisionQuestions {
    /// Fashion-MNIST classes as an answer names them (IDXDataset.fashionMNISTClasses order).
    public static let fashionAnswers = ["a T-shirt", "trousers", "a pullover", "a dress", "a coat",
                                        "a sandal", "a shirt", "a sneaker", "a bag", "an ankle boot"]
    /// The broader kind of each Fashion-MNIST class.
    public static let fashionKinds = ["a top", "clothing for the legs", "a top", "a dress", "outerwear",
                                      "footwear", "a top", "footwear", "a bag", "footwear"]
    public static let footwear: Set<Int> = [5, 7, 9]

    /// The tasks each question set asks (`fashion`, `digits`, `emoji`: the names `latte eval understanding
    /// --sets` takes), so a request for a task can be checked before any image is read.
    public static let tasksBySet: [String: Set<String>] = [
        "fashion": ["fashion.what", "fashion.kind", "fashion.footwear"], "digits": ["digit.which"],
        "emoji": ["emoji.name", "emoji.category", "emoji.colour"],
    ]

    static let whatQuestions = ["What is this?", "What is in the picture?", "What item is shown?", "Name the item in this image."]
    static let kindQuestions = ["Which kind of item is it?", "What kind of thing is this?", "What category does this item belong to?"]
    static let footwearQuestions = ["Is this footwear?", "Is this something you wear on your feet?", "Are these shoes?"]
    static let digitQuestions = ["What digit is this?", "Which number is written here?", "What number do you see?"]
    public static let digitWords = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

    /// Three examples per Fashion-MNIST image (what it is, its kind, whether it is footwear).
    public static func fashion(labels: [Int], seed: UInt64) -> [VisionExample] {
        precondition(labels.allSatisfy { (0..<10).contains($0) }, "Fashion-MNIST labels are 0…9")
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x6661_7368))   // "fash": its own stream
        var out: [VisionExample] = []
        out.reserveCapacity(labels.count * 3)
        for (i, label) in labels.enumerated() {
            let answer = fashionAnswers[label]
            out.append(VisionExample(task: "fashion.what", image: i, question: whatQuestions[rng.next(below: whatQuestions.count)],
                                     answer: "It is \(answer)."))
            out.append(VisionExample(task: "fashion.kind", image: i, question: kindQuestions[rng.next(below: kindQuestions.count)],
                                     answer: "It is \(fashionKinds[label])."))
            let isFootwear = footwear.contains(label)
            out.append(VisionExample(task: "fashion.footwear", image: i, question: footwearQuestions[rng.next(below: footwearQuestions.count)],
                                     answer: isFootwear ? "Yes." : "No, it is \(answer)."))
        }
        return out
    }

    /// One example per digit image; the answer names the digit in figures and words ("It is a 7 (seven).").
    public static func digits(labels: [Int], seed: UInt64) -> [VisionExample] {
        precondition(labels.allSatisfy { (0..<10).contains($0) }, "digit labels are 0…9")
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x6469_6769))   // "digi"
        return labels.enumerated().map { i, label in
            VisionExample(task: "digit.which", image: i, question: digitQuestions[rng.next(below: digitQuestions.count)],
                          answer: "It is a \(label) (\(digitWords[label])).")
        }
    }

    /// Whether `text` (a generated answer) names Fashion-MNIST class `label`: the class's answer noun or
    /// one of its synonyms appears, and no other class's does (a "shirt" inside "T-shirt" does not count).
    public static func namesFashionClass(_ text: String, label: Int) -> Bool {
        let lower = " " + text.lowercased().replacingOccurrences(of: "t-shirt", with: "tshirt") + " "
        func mentions(_ c: Int) -> Bool { fashionSynonyms[c].contains { lower.contains($0) } }
        return mentions(label) && (0..<10).allSatisfy { $0 == label || !mentions($0) }
    }

    /// Accepted names per class for `namesFashionClass` (lowercase; "tshirt" stands for "t-shirt").
    public static let fashionSynonyms: [[String]] = [
        ["tshirt", " top", " tee"], ["trouser", " pants"], ["pullover", "sweater", "jumper"], ["dress"], [" coat", "jacket"],
        ["sandal"], [" shirt"], ["sneaker", "trainer"], [" bag", "handbag"], ["ankle boot", " boot"],
    ]
}
