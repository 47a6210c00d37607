/// Emoji categories by code point sequence, from EmojiOne's index (the only pinned set that has them),
/// folded to eight: activity, flags, food, nature, objects, people, symbols, travel. EmojiOne's two tiny
/// extra categories are folded in: "extras" (only the rainbow flag) into "flags", "modifier" (the five
/// skin-tone swatches) into "symbols".
///
/// A sequence EmojiOne lacks (Twemoji has newer emoji) gets, in order: the category of the same emoji
/// without skin tones; "flags" for a regional-indicator pair or a tag flag, "symbols" for a lone
/// regional-indicator letter; the category of its first
/// code point (a joined sequence such as "man cooking" takes "man"'s); else `unknown`, a label that
/// category classifiers leave out.
public struct EmojiCategories: Sendable {
    public static let unknown = "unknown"
    static let folded = ["extras": "flags", "modifier": "symbols"]

    /// Category per `EmojiSequence.matchKey`.
    public let byKey: [String: String]

    public init(_ emojiOne: EmojiOneDataset) {
        var map: [String: String] = [:]
        for e in emojiOne.entries {
            guard let s = EmojiSequence(fileStem: e.unicode) else { continue }
            map[s.matchKey] = Self.folded[e.category] ?? e.category
        }
        byKey = map
    }

    public init(byKey: [String: String]) { self.byKey = byKey }

    public func category(of s: EmojiSequence) -> String {
        if let c = byKey[s.matchKey] ?? byKey[s.withoutSkinTones.matchKey] { return c }
        let named = s.scalars.filter { !EmojiSequence.isPresentationOrJoiner($0) }
        if named.count == 2, named.allSatisfy(EmojiSequence.isRegionalIndicator) { return "flags" }
        if named.count > 2, named[0] == 0x1F3F4, named.last == 0xE007F { return "flags" }
        // Twemoji draws the 26 regional-indicator letters alone too: letter symbols.
        if named.count == 1, EmojiSequence.isRegionalIndicator(named[0]) { return "symbols" }
        if let first = named.first, let c = byKey[EmojiSequence.key([first])] { return c }
        return Self.unknown
    }
}
