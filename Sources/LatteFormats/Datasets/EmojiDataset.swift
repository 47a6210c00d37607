import Foundation

/// The colour emoji training set (`--data emoji`): EmojiOne 2.x (64×64) and Twemoji (72×72) together,
/// every emoji in each art style it has, with a deterministic held-out split.
///
/// **Split.** An emoji is held out when the SplitMix64 mix of the FNV-1a hash of its
/// `EmojiSequence.groupKey` is 0…9 mod 100: about 10 % of the emoji. The group key leaves out skin
/// tones, variation selectors and joiners, so both art styles and every skin tone of one emoji fall in
/// the same split, and a held-out emoji is one the model never saw in any form. The split depends only
/// on the code points, not on which files are present. With the pinned assets: 5,802 images of 1,965
/// emoji; held out 558 images (156 EmojiOne, 402 Twemoji) of 177 emoji, 9.6 % of the images
/// (docs/images-and-datasets.md).
///
/// **Captions** (the same for both art styles of an emoji, at most three, distinct), from the Unicode
/// standard (`EmojiNames`: emoji-test.txt's CLDR short names and CLDR's English keywords):
/// 1. the short name as a phrase (`EmojiNames.phrase`): "red heart", "thumbs up, medium skin tone",
///    "flag of france", "keycap 1";
/// 2. the Unicode-character-name caption (`EmojiCaptioner`) when it differs: "heavy black heart";
/// 3. the first caption and up to two CLDR keywords that add a word to it, in CLDR's (alphabetical)
///    order: "heart on fire, burn, love"; none when every keyword is already in the caption.
/// An emoji the standard does not name (Twemoji's emoji newer than Emoji 15.0 that no derivation rule
/// reaches, listed in `unnamed`) keeps the earlier captions: the Unicode-name caption, EmojiOne's name
/// when it differs, and two EmojiOne keywords.
///
/// **Labels** index `classNames`: the standard's emoji groups (`EmojiNames.groups`, sorted; the
/// "Component" swatches folded into "People & Body"), plus `unknown` when some emoji of either split
/// has no group (`EmojiCategories`); both splits get the same names.
///
/// Images are decoded on access; a file that fails to decode throws an `ImageError` naming it, which a
/// loader with `UnreadableImagePolicy.skip` leaves out and reports. Twemoji files that cannot be
/// captioned by `EmojiCaptioner` are left out at construction and listed in `skipped`.
public struct EmojiDataset: Dataset {
    public enum Style: String, Sendable { case emojione, twemoji }

    public struct Entry: Sendable, Equatable {
        public var sequence: EmojiSequence
        public var style: Style
        public var imagePath: String
        public var captions: [String]
        public var category: String
    }

    /// Percent of emoji groups held out.
    public static let heldOutPercent: UInt64 = 10

    /// Which split `groupKey` belongs to.
    public static func split(ofGroup groupKey: String) -> IDXDataset.Split {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325  // FNV-1a 64
        for b in groupKey.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        return SplitMix64.mix(h) % 100 < heldOutPercent ? .test : .train
    }

    public static func split(of sequence: EmojiSequence) -> IDXDataset.Split { split(ofGroup: sequence.groupKey) }

    /// nil when the dataset holds both splits.
    public let split: IDXDataset.Split?
    public let entries: [Entry]
    public let classNames: [String]
    /// Twemoji files left out (name not a code point sequence, or not captionable).
    public let skipped: [TwemojiDataset.Skipped]
    /// `matchKey`s (both splits) of the emoji the standard does not name, captioned the earlier way.
    public let unnamed: [String]
    private let labels: [Int]

    /// The pinned `emojione`, `twemoji`, `unicode-emoji` and `cldr-annotations` assets (fetched with
    /// `latte assets fetch emojione twemoji unicode-emoji cldr-annotations`).
    public static func pinned(split: IDXDataset.Split?, cache: AssetCache = AssetCache()) throws -> EmojiDataset {
        let index = try cache.require("emojione", file: "config/index.json")
        let twemoji = try cache.require("twemoji", file: "72x72")
        return try EmojiDataset(emojiOneRoot: index.deletingLastPathComponent().deletingLastPathComponent().path,
                                twemojiFolder: twemoji.path, names: try EmojiNames.pinned(cache: cache), split: split)
    }

    public init(emojiOneRoot: String, twemojiFolder: String, names: EmojiNames, split: IDXDataset.Split?) throws {
        let emojiOne = try EmojiOneDataset(root: emojiOneRoot)
        let categories = EmojiCategories(names)
        let twemoji = try TwemojiDataset(folder: twemojiFolder, categories: categories)

        // One caption list per emoji, shared by its images in both styles.
        var emojiOneByKey: [String: EmojiOneDataset.Entry] = [:]
        for e in emojiOne.entries { if let s = EmojiSequence(fileStem: e.unicode) { emojiOneByKey[s.matchKey] = e } }
        var unnamed: [String] = []
        func captions(_ s: EmojiSequence, fallback: String?) -> [String] {
            if let name = names.name(of: s) {
                return Self.standardCaptions(shortName: name.shortName, unicodeName: try? EmojiCaptioner.caption(s),
                                             keywords: names.keywords(of: s))
            }
            if !unnamed.contains(s.matchKey) { unnamed.append(s.matchKey) }
            let own = emojiOneByKey[s.matchKey]
            let base = own ?? emojiOneByKey[s.withoutSkinTones.matchKey]
            guard let first = (try? EmojiCaptioner.caption(s)) ?? fallback?.lowercased() else { return [] }
            var list = [first]
            if let name = own?.name.lowercased(), name != first, !Self.isToneName(name) { list.append(name) }
            let words = Set(first.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
            var seen = Set<String>()
            let keywords = (base?.keywords ?? []).map { $0.lowercased() }
                .filter { !$0.isEmpty && !words.contains($0) && seen.insert($0).inserted }
            if keywords.count >= 2 { list.append("\(first), \(keywords[0]), \(keywords[1])") }
            return list
        }

        // Both splits are built, so `classNames` (which may hold `unknown`) is the same for each.
        var all: [Entry] = []
        for e in emojiOne.entries {
            guard let s = EmojiSequence(fileStem: e.unicode) else { continue }
            all.append(Entry(sequence: s, style: .emojione, imagePath: "\(emojiOneRoot)/assets/png/\(e.unicode).png",
                             captions: captions(s, fallback: e.name), category: categories.category(of: s)))
        }
        for (i, e) in twemoji.entries.enumerated() {
            all.append(Entry(sequence: e.sequence, style: .twemoji, imagePath: twemoji.imagePath(at: i),
                             captions: captions(e.sequence, fallback: nil), category: e.category))
        }
        let entries = all.filter { split == nil || Self.split(of: $0.sequence) == split }
        guard !entries.isEmpty else {
            throw DatasetError(.missing, file: twemojiFolder, "no emoji in the \(split.map(\.rawValue) ?? "whole") split")
        }
        let classes = names.groups + (all.contains { $0.category == EmojiCategories.unknown } ? [EmojiCategories.unknown] : [])
        let labelOf = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        for e in all where labelOf[e.category] == nil {
            throw DatasetError(.inconsistent, file: twemojiFolder, "\(e.sequence): category '\(e.category)' is not one of the standard's groups \(classes)")
        }
        self.split = split
        self.entries = entries
        self.classNames = classes
        self.skipped = twemoji.skipped
        self.unnamed = unnamed
        self.labels = entries.map { labelOf[$0.category]! }
    }

    /// The captions of an emoji the standard names (rules 1–3 above). `keywords` in CLDR's order; one
    /// adds a word when some word of it (letters and digits) is not in the first caption.
    static func standardCaptions(shortName: String, unicodeName: String?, keywords: [String]) -> [String] {
        func words(_ s: String) -> [String] { s.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init) }
        let first = EmojiNames.phrase(shortName)
        var list = [first]
        if let unicodeName, unicodeName != first { list.append(unicodeName) }
        let have = Set(words(first))
        var extra: [String] = []
        for k in keywords.map({ $0.lowercased() }) where !extra.contains(k) && words(k).contains(where: { !have.contains($0) }) {
            // A keyword without letters ("+1") says nothing a text encoder can use.
            guard k.contains(where: \.isLetter) else { continue }
            extra.append(k)
            if extra.count == 2 { break }
        }
        if !extra.isEmpty {
            let third = ([first] + extra).joined(separator: ", ")
            if !list.contains(third) { list.append(third) }
        }
        return list
    }

    /// EmojiOne names its skin-tone variants "… tone N", which says less than the first caption.
    static func isToneName(_ name: String) -> Bool {
        guard let last = name.split(separator: " ").last, let tone = Int(last) else { return false }
        return (1...5).contains(tone) && name.dropLast(last.count).hasSuffix("tone ")
    }

    public var count: Int { entries.count }

    public func captions(at index: Int) -> [String] { entries[index].captions }

    /// Every distinct emoji of this dataset with its captions, one row per `matchKey` in item order:
    /// for sampling from held-out captions.
    public var emojiCaptions: [(sequence: EmojiSequence, captions: [String], category: String)] {
        var seen = Set<String>()
        return entries.filter { seen.insert($0.sequence.matchKey).inserted }.map { ($0.sequence, $0.captions, $0.category) }
    }

    public func item(at index: Int) throws -> DatasetItem {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        let e = entries[index]
        return DatasetItem(image: try PNG.read(e.imagePath), label: labels[index], captions: e.captions)
    }

    public func annotation(at index: Int) throws -> DatasetAnnotation {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        return DatasetAnnotation(label: labels[index], captions: entries[index].captions)
    }
}
