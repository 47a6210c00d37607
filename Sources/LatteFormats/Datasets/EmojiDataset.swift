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
/// **Captions** (the same for both art styles of an emoji, at most three): the Unicode-name caption
/// (`EmojiCaptioner`, e.g. "heavy black heart", "thumbs up sign, medium skin tone"); EmojiOne's name when
/// it differs (e.g. "united states" for "flag of united states"; not for its skin-tone variants, whose
/// names only say "… tone 3"); and the first caption followed by two of EmojiOne's keywords for the emoji
/// (or for the same emoji without skin tones) that the caption does not already contain
/// ("heavy black heart, like, love"). An emoji EmojiOne lacks has the first caption only.
///
/// **Labels** index `classNames`: the eight `EmojiCategories` (activity, flags, food, nature, objects,
/// people, symbols, travel), plus `unknown` if some emoji has none.
///
/// Images are decoded on access; a file that fails to decode throws an `ImageError` naming it, which a
/// loader with `UnreadableImagePolicy.skip` leaves out and reports. Twemoji files that cannot be
/// captioned are left out at construction and listed in `skipped`.
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
    private let labels: [Int]

    /// The pinned `emojione` and `twemoji` assets (fetched with `latte assets fetch emojione twemoji`).
    public static func pinned(split: IDXDataset.Split?, cache: AssetCache = AssetCache()) throws -> EmojiDataset {
        let index = try cache.require("emojione", file: "config/index.json")
        let twemoji = try cache.require("twemoji", file: "72x72")
        return try EmojiDataset(emojiOneRoot: index.deletingLastPathComponent().deletingLastPathComponent().path,
                                twemojiFolder: twemoji.path, split: split)
    }

    public init(emojiOneRoot: String, twemojiFolder: String, split: IDXDataset.Split?) throws {
        let emojiOne = try EmojiOneDataset(root: emojiOneRoot)
        let categories = EmojiCategories(emojiOne)
        let twemoji = try TwemojiDataset(folder: twemojiFolder, categories: categories)

        // One caption list per emoji, shared by its images in both styles.
        var emojiOneByKey: [String: EmojiOneDataset.Entry] = [:]
        for e in emojiOne.entries { if let s = EmojiSequence(fileStem: e.unicode) { emojiOneByKey[s.matchKey] = e } }
        func captions(_ s: EmojiSequence, fallback: String?) -> [String] {
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

        var entries: [Entry] = []
        for e in emojiOne.entries {
            guard let s = EmojiSequence(fileStem: e.unicode), split == nil || Self.split(of: s) == split else { continue }
            entries.append(Entry(sequence: s, style: .emojione, imagePath: "\(emojiOneRoot)/assets/png/\(e.unicode).png",
                                 captions: captions(s, fallback: e.name), category: categories.category(of: s)))
        }
        for (i, e) in twemoji.entries.enumerated() where split == nil || Self.split(of: e.sequence) == split {
            entries.append(Entry(sequence: e.sequence, style: .twemoji, imagePath: twemoji.imagePath(at: i),
                                 captions: captions(e.sequence, fallback: nil), category: e.category))
        }
        guard !entries.isEmpty else {
            throw DatasetError(.missing, file: twemojiFolder, "no emoji in the \(split.map(\.rawValue) ?? "whole") split")
        }
        let known = ["activity", "flags", "food", "nature", "objects", "people", "symbols", "travel"]
        let present = Set(entries.map(\.category))
        // The eight categories always, so a split's labels index the same names as the other's.
        let classes = known + present.subtracting(known).sorted()
        let labelOf = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        self.split = split
        self.entries = entries
        self.classNames = classes
        self.skipped = twemoji.skipped
        self.labels = entries.map { labelOf[$0.category]! }
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
}
