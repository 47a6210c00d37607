/// Questions about emoji pictures (`VisionQuestions.emoji`): the emoji's name (its CLDR short name,
/// EmojiDataset's first caption), its Unicode group, and its dominant colour computed from the pixels
/// (`DominantColour`). Held out: `EmojiDataset`'s test split (about 10 % of the emoji, every art style
/// and skin tone of one emoji on the same side).
public struct EmojiFacts: Equatable, Sendable {
    public var name: String
    public var category: String
    /// `DominantColour.name(of:)`; nil when the image has no opaque pixel (no colour question then).
    public var colour: String?

    public init(name: String, category: String, colour: String?) {
        (self.name, self.category, self.colour) = (name, category, colour)
    }
}

extension VisionQuestions {
    static let emojiNameQuestions = ["What is this emoji?", "Which emoji is this?", "What does this emoji show?"]
    static let emojiCategoryQuestions = ["Which category is this emoji in?", "What group does this emoji belong to?", "What kind of emoji is this?"]
    static let emojiColourQuestions = ["What colour is this emoji?", "What is the main colour here?", "Which colour dominates this picture?"]

    /// The Unicode emoji groups as an answer names them, keyed by `EmojiNames.groups`' names.
    public static let emojiCategoryAnswers: [String: String] = [
        "Smileys & Emotion": "smileys and emotion", "People & Body": "people and body", "Animals & Nature": "animals and nature",
        "Food & Drink": "food and drink", "Travel & Places": "travel and places", "Activities": "activities",
        "Objects": "objects", "Symbols": "symbols", "Flags": "flags",
    ]

    /// Up to three examples per emoji image: "emoji.name", "emoji.category" (not for the `unknown`
    /// group) and "emoji.colour" (when the picture has a colour).
    public static func emoji(_ facts: [EmojiFacts], seed: UInt64) -> [VisionExample] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed ^ 0x656D_6F6A))   // "emoj"
        var out: [VisionExample] = []
        for (i, f) in facts.enumerated() {
            out.append(VisionExample(task: "emoji.name", image: i, question: emojiNameQuestions[rng.next(below: emojiNameQuestions.count)],
                                     answer: "It is the \(f.name) emoji."))
            let categoryQuestion = emojiCategoryQuestions[rng.next(below: emojiCategoryQuestions.count)]
            if let group = emojiCategoryAnswers[f.category] {
                out.append(VisionExample(task: "emoji.category", image: i, question: categoryQuestion, answer: "It is in \(group)."))
            }
            let colourQuestion = emojiColourQuestions[rng.next(below: emojiColourQuestions.count)]
            if let colour = f.colour {
                out.append(VisionExample(task: "emoji.colour", image: i, question: colourQuestion, answer: "It is mostly \(colour)."))
            }
        }
        return out
    }

    /// Whether an answer names the emoji group `category` (its answer words, or the group's first word:
    /// "smileys", "food", …) and no other group.
    public static func namesEmojiCategory(_ text: String, category: String) -> Bool {
        let lower = text.lowercased()
        func mentions(_ group: String) -> Bool {
            guard let words = emojiCategoryAnswers[group] else { return false }
            return lower.contains(words) || lower.contains(String(words.split(separator: " ")[0]))
        }
        return mentions(category) && emojiCategoryAnswers.keys.allSatisfy { $0 == category || !mentions($0) }
    }

    /// Whether an answer names `colour` (a `DominantColour.names` word; "gray" counts as "grey",
    /// "violet" as "purple") and no other colour.
    public static func namesColour(_ text: String, colour: String) -> Bool {
        let words = Set(text.lowercased().replacingOccurrences(of: "gray", with: "grey").replacingOccurrences(of: "violet", with: "purple")
            .split(whereSeparator: { !$0.isLetter }).map(String.init))
        return words.contains(colour) && DominantColour.names.allSatisfy { $0 == colour || !words.contains($0) }
    }

    /// Whether an answer names the emoji: its name (lowercased) appears in the answer.
    public static func namesEmoji(_ text: String, name: String) -> Bool {
        text.lowercased().contains(name.lowercased())
    }
}
