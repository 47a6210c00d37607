import Foundation

/// The Unicode standard's names, groups and keywords for emoji: `emoji-test.txt` (Emoji 15.0, the
/// `unicode-emoji` asset) and CLDR's English annotations (CLDR 41, the `cldr-annotations` asset).
///
/// **Lookup** by `EmojiSequence.matchKey`, so EmojiOne's and Twemoji's file spellings (no U+FE0F,
/// leading zeros) find the listed emoji. Twemoji also draws emoji newer than Emoji 15.0; two of the
/// standard's own naming rules (UTS #51 and CLDR's derived names) give those a name from a listed base:
/// - skin tones: the base emoji's name, then ": " and each distinct tone ("people wrestling: light skin
///   tone", which Emoji 15.0 no longer lists) — ", " when the base name already has a colon;
/// - a trailing ZWJ + U+27A1 (Emoji 15.1's direction sequences): the base name + " facing right"
///   ("woman running facing right", then ": medium skin tone").
///
/// **Groups**: the emoji-test group, with "Component" (the five skin-tone swatches and four hair
/// components) folded into "People & Body", whose emoji they only ever modify.
public struct EmojiNames: Sendable {
    public struct Name: Sendable, Equatable {
        /// CLDR short name as the standard writes it ("thumbs up: medium skin tone").
        public var shortName: String
        public var group: String
        public var subgroup: String
        /// True when built by the rules above rather than listed in emoji-test.txt.
        public var derived: Bool
    }

    public static let componentGroup = "Component"
    public static let componentFoldedInto = "People & Body"

    public let list: EmojiTestList
    public let annotations: CLDRAnnotations

    public init(list: EmojiTestList, annotations: CLDRAnnotations) {
        self.list = list
        self.annotations = annotations
    }

    /// The pinned assets (`latte assets fetch unicode-emoji cldr-annotations`).
    public static func pinned(cache: AssetCache = AssetCache()) throws -> EmojiNames {
        let test = try cache.require("unicode-emoji", file: "emoji-test.txt")
        let core = try cache.require("cldr-annotations", file: "annotations/en.xml")
        let derived = try cache.require("cldr-annotations", file: "annotationsDerived/en.xml")
        return EmojiNames(list: try EmojiTestList(path: test.path),
                          annotations: try CLDRAnnotations(paths: [core.path, derived.path]))
    }

    /// The category labels: every group of the file but "Component", sorted.
    public var groups: [String] { list.groups.filter { $0 != Self.componentGroup }.sorted() }

    public func name(of sequence: EmojiSequence) -> Name? {
        if let e = list.entry(for: sequence) {
            let group = e.group == Self.componentGroup ? Self.componentFoldedInto : e.group
            return Name(shortName: e.name, group: group, subgroup: e.subgroup, derived: false)
        }
        let tones = sequence.scalars.filter(EmojiSequence.isSkinTone)
        if !tones.isEmpty, tones.count < sequence.scalars.count, var base = name(of: sequence.withoutSkinTones) {
            var toneNames: [String] = []
            for t in tones {
                let tone = list.entry(forKey: EmojiSequence.key([t]))?.name ?? EmojiCaptioner.skinTones[Int(t - 0x1F3FB)]
                if !toneNames.contains(tone) { toneNames.append(tone) }
            }
            base.shortName += (base.shortName.contains(":") ? ", " : ": ") + toneNames.joined(separator: ", ")
            base.derived = true
            return base
        }
        let named = sequence.scalars.filter { !EmojiSequence.isPresentationOrJoiner($0) }
        if named.count > 1, named.last == 0x27A1, tones.isEmpty {
            // Drop the arrow and the joiner and selector around it.
            var rest = Array(sequence.scalars)
            while let last = rest.last, last == 0x27A1 || EmojiSequence.isPresentationOrJoiner(last) { rest.removeLast() }
            if var base = name(of: EmojiSequence(scalars: rest)) {
                base.shortName += " facing right"
                base.derived = true
                return base
            }
        }
        return nil
    }

    /// CLDR keywords of the emoji, or of the same emoji without skin tones; empty when CLDR 41 has none
    /// (the 31 sequences new in Emoji 15.0, with their skin tones).
    public func keywords(of sequence: EmojiSequence) -> [String] {
        annotations.keywords[sequence.matchKey] ?? annotations.keywords[sequence.withoutSkinTones.matchKey] ?? []
    }

    /// A CLDR short name as a lowercase caption phrase: "flag: France" → "flag of france" (the
    /// Unicode-name captioner's wording), "keycap: 1" → "keycap 1", any other "base: qualifiers" →
    /// "base, qualifiers" ("thumbs up, medium skin tone", "family, man, woman, boy"); the typographic
    /// apostrophe becomes ASCII ("côte d'ivoire").
    public static func phrase(_ shortName: String) -> String {
        var s = shortName.lowercased().replacingOccurrences(of: "\u{2019}", with: "'")
        if s.hasPrefix("flag: ") {
            s = "flag of " + s.dropFirst("flag: ".count)
        } else if s.hasPrefix("keycap: ") {
            s = "keycap " + s.dropFirst("keycap: ".count)
        }
        return s.replacingOccurrences(of: ": ", with: ", ")
    }
}
