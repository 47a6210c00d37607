import Foundation

/// English captions for emoji code point sequences, built from the Unicode character names that
/// Swift's standard library carries (`Unicode.Scalar.Properties.name`), lowercased:
///
/// - a plain emoji is its name: U+1F600 → "grinning face", U+2764 → "heavy black heart";
/// - variation selectors (U+FE0E, U+FE0F) and zero-width joiners (U+200D) are not named; the parts of a
///   joined sequence follow one another: 1F468 200D 1F373 → "man cooking";
/// - a gender sign joined to a person goes first as "man" / "woman": 1F3C3 200D 2640 → "woman runner";
/// - skin-tone modifiers end the caption with CLDR's tone names, each distinct tone once:
///   1F44D 1F3FD → "thumbs up sign, medium skin tone"; hair components likewise: "man, red hair"
///   (alone, a tone or hair swatch is its name: "light skin tone", "red hair");
/// - a regional-indicator pair is a flag with the region's English name from Foundation's `Locale`:
///   1F1EB 1F1F7 → "flag of france" ("flag XY" when the locale data has no name for it);
/// - a black flag with tag characters is a subdivision flag: "flag of england", "flag of scotland",
///   "flag of wales" ("flag of gb-xyz" for others);
/// - a keycap is "keycap " and its key: 0031 FE0F 20E3 → "keycap 1", 0023 20E3 → "keycap #".
///
/// A sequence holding a scalar without a name in this toolchain's Unicode data (newer than it) throws.
public enum EmojiCaptioner {
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public var sequence: String
        public var reason: String
        public var description: String { "\(sequence): \(reason)" }
    }

    /// CLDR's English names of the Fitzpatrick modifiers U+1F3FB…1F3FF.
    static let skinTones = ["light skin tone", "medium-light skin tone", "medium skin tone", "medium-dark skin tone", "dark skin tone"]

    /// England, Scotland and Wales: the subdivision flags in Unicode's recommended set.
    static let subdivisions = ["gbeng": "england", "gbsct": "scotland", "gbwls": "wales"]

    public static func caption(_ sequence: EmojiSequence) throws -> String {
        func fail(_ reason: String) -> Failure { Failure(sequence: sequence.description, reason: reason) }
        let scalars = sequence.scalars.filter { $0 != 0xFE0E && $0 != 0xFE0F }
        guard !scalars.isEmpty else { throw fail("only variation selectors") }

        if scalars.count == 2, scalars.allSatisfy(EmojiSequence.isRegionalIndicator) {
            let code = String(String.UnicodeScalarView(scalars.map { Unicode.Scalar($0 - 0x1F1E6 + 0x41)! }))
            return regionFlag(code)
        }
        if scalars.count > 2, scalars[0] == 0x1F3F4, scalars.last == 0xE007F, scalars.dropFirst().allSatisfy(EmojiSequence.isTag) {
            let tag = String(String.UnicodeScalarView(scalars.dropFirst().dropLast().map { Unicode.Scalar($0 - 0xE0000)! }))
            if let name = subdivisions[tag] { return "flag of \(name)" }
            return "flag of \(tag.prefix(2))-\(tag.dropFirst(2))"
        }
        if scalars.count == 2, scalars[1] == 0x20E3 {
            guard let key = Unicode.Scalar(scalars[0]), key.isASCII, !key.properties.isWhitespace else {
                throw fail("a keycap on U+\(String(scalars[0], radix: 16, uppercase: true)), not on an ASCII key")
            }
            return "keycap \(Character(key))"
        }

        var gender: String? = nil
        var words: [String] = []
        var extras: [String] = []
        // Split at joiners; a part is one emoji plus its modifiers.
        let parts = scalars.split(separator: 0x200D, omittingEmptySubsequences: true)
        for part in parts {
            for v in part {
                if EmojiSequence.isSkinTone(v) {
                    let tone = skinTones[Int(v - 0x1F3FB)]
                    // A lone swatch is named by its tone; otherwise the tone qualifies the emoji.
                    if scalars.count == 1 { words.append(tone) } else if !extras.contains(tone) { extras.append(tone) }
                    continue
                }
                guard let s = Unicode.Scalar(v), let name = s.properties.name else {
                    throw fail("U+\(String(v, radix: 16, uppercase: true)) has no name in this toolchain's Unicode data")
                }
                // "emoji component red hair" qualifies a person; alone it is the swatch "red hair".
                let lower = name.lowercased().replacingOccurrences(of: "emoji component ", with: "")
                if parts.count > 1, v == 0x2640 || v == 0x2642 {
                    gender = v == 0x2640 ? "woman" : "man"
                } else if (0x1F9B0...0x1F9B3).contains(v), scalars.count > 1 {
                    extras.append(lower)
                } else {
                    words.append(lower)
                }
            }
        }
        guard !words.isEmpty else { throw fail("only modifiers, nothing they modify") }
        var caption = ((gender.map { [$0] } ?? []) + words).joined(separator: " ")
        if !extras.isEmpty { caption += ", " + extras.joined(separator: ", ") }
        return caption
    }

    /// "flag of <English region name>", lowercased; "flag XY" when Foundation has no name for the code.
    static func regionFlag(_ code: String) -> String {
        let name = Locale(identifier: "en").localizedString(forRegionCode: code)
        guard let name, !name.isEmpty, name != code, name != "Unknown Region" else { return "flag \(code)" }
        return "flag of \(name.lowercased())"
    }
}
