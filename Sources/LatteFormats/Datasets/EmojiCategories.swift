/// Emoji categories by code point sequence: the Unicode standard's emoji-test group (`EmojiNames`:
/// "Smileys & Emotion", "People & Body", "Animals & Nature", "Food & Drink", "Travel & Places",
/// "Activities", "Objects", "Symbols", "Flags"; the "Component" swatches fold into "People & Body").
///
/// A sequence the standard does not list, even by `EmojiNames`' derivation rules (Twemoji draws emoji
/// newer than Emoji 15.0), gets, in order: "Flags" for a regional-indicator pair or a tag flag;
/// "Symbols" for a lone regional-indicator letter (Twemoji draws all 26); the group of its first code
/// point (a joined sequence such as "phoenix" = bird + fire takes the bird's); else `unknown`, a label
/// that category classifiers leave out.
public struct EmojiCategories: Sendable {
    public static let unknown = "unknown"
    public static let flags = "Flags"
    public static let symbols = "Symbols"

    private let names: EmojiNames?
    /// Group per `EmojiSequence.matchKey`, for tests without the pinned files.
    private let byKey: [String: String]

    public init(_ names: EmojiNames) {
        self.names = names
        self.byKey = [:]
    }

    /// A group per `matchKey`; a skin-tone variant not in the map takes its base's group.
    public init(byKey: [String: String]) {
        self.names = nil
        self.byKey = byKey
    }

    /// The standard's group, without the fallbacks; nil when it has none.
    public func listedGroup(of s: EmojiSequence) -> String? {
        if let names { return names.name(of: s)?.group }
        return byKey[s.matchKey] ?? byKey[s.withoutSkinTones.matchKey]
    }

    public func category(of s: EmojiSequence) -> String {
        if let g = listedGroup(of: s) { return g }
        let named = s.scalars.filter { !EmojiSequence.isPresentationOrJoiner($0) }
        if named.count == 2, named.allSatisfy(EmojiSequence.isRegionalIndicator) { return Self.flags }
        if named.count > 2, named[0] == 0x1F3F4, named.last == 0xE007F { return Self.flags }
        if named.count == 1, EmojiSequence.isRegionalIndicator(named[0]) { return Self.symbols }
        if named.count > 1, let g = listedGroup(of: EmojiSequence(scalars: [named[0]])) { return g }
        return Self.unknown
    }
}
