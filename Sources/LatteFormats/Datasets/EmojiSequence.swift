import Foundation

/// An emoji as emoji sets name their image files: Unicode code points in hex joined by '-'
/// ("1f44d-1f3fd", EmojiOne's "1F44D-1F3FD", "0031-20E3").
///
/// Sets spell the same emoji differently (case, leading zeros, whether U+FE0F and U+200D appear), so
/// two keys compare them: `matchKey` names the emoji, `groupKey` the emoji whatever its skin tone.
public struct EmojiSequence: Hashable, Sendable, CustomStringConvertible {
    public let scalars: [UInt32]

    /// Parses a file stem; nil when a part is not hex or not a Unicode scalar.
    public init?(fileStem: String) {
        var values: [UInt32] = []
        for part in fileStem.split(separator: "-", omittingEmptySubsequences: false) {
            guard !part.isEmpty, part.count <= 6, let v = UInt32(part, radix: 16), Unicode.Scalar(v) != nil else { return nil }
            values.append(v)
        }
        guard !values.isEmpty else { return nil }
        scalars = values
    }

    public init(scalars: [UInt32]) { self.scalars = scalars }

    public var description: String { scalars.map { String($0, radix: 16) }.joined(separator: "-") }

    /// Lowercase hex without leading zeros, variation selectors (U+FE0E, U+FE0F) and zero-width
    /// joiners (U+200D) left out: EmojiOne's "2764" and Twemoji's "2764-fe0f" are one emoji, and so
    /// are EmojiOne's "1F3F3-1F308" and Twemoji's "1f3f3-fe0f-200d-1f308" (rainbow flag).
    public var matchKey: String { Self.key(scalars.filter { !Self.isPresentationOrJoiner($0) }) }

    /// `matchKey` without skin-tone modifiers (U+1F3FB–1F3FF): every skin tone of an emoji shares it, so a
    /// held-out split by this key holds out an emoji in all its tones. A lone modifier (the tone
    /// swatch) keeps itself.
    public var groupKey: String {
        let kept = scalars.filter { !Self.isPresentationOrJoiner($0) && !Self.isSkinTone($0) }
        return kept.isEmpty ? matchKey : Self.key(kept)
    }

    /// The sequence without skin-tone modifiers, for looking up the base emoji.
    public var withoutSkinTones: EmojiSequence {
        let kept = scalars.filter { !Self.isSkinTone($0) }
        return kept.isEmpty ? self : EmojiSequence(scalars: kept)
    }

    static func key(_ values: [UInt32]) -> String { values.map { String($0, radix: 16) }.joined(separator: "-") }

    static func isPresentationOrJoiner(_ v: UInt32) -> Bool { v == 0xFE0E || v == 0xFE0F || v == 0x200D }
    static func isSkinTone(_ v: UInt32) -> Bool { (0x1F3FB...0x1F3FF).contains(v) }
    static func isRegionalIndicator(_ v: UInt32) -> Bool { (0x1F1E6...0x1F1FF).contains(v) }
    static func isTag(_ v: UInt32) -> Bool { (0xE0020...0xE007F).contains(v) }
}
