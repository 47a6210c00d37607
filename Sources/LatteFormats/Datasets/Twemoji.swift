import Foundation

/// Twemoji's PNGs (the `twemoji` asset's `72x72/` folder: 72×72 RGBA, palette or truecolour), one per
/// emoji, named by code point sequence ("1f44d-1f3fd.png"). The set ships no names: each caption is
/// built from the Unicode character names (`EmojiCaptioner`; `EmojiDataset` puts the standard's CLDR
/// short names first). Labels are the standard's emoji groups when given (`EmojiCategories`, with its
/// documented fallbacks), else every item is `unknown`.
///
/// A file whose name is not a code point sequence, or whose sequence cannot be captioned (a code
/// point newer than the toolchain's Unicode data), is left out and listed in `skipped`.
public struct TwemojiDataset: Dataset {
    public struct Entry: Sendable, Equatable {
        public var sequence: EmojiSequence
        /// File name inside the folder.
        public var file: String
        public var caption: String
        public var category: String
    }

    public struct Skipped: Sendable, Equatable, CustomStringConvertible {
        public var file: String
        public var reason: String
        public var description: String { "\(file): \(reason)" }
    }

    public let folder: String
    public let entries: [Entry]
    public let skipped: [Skipped]
    public let classNames: [String]
    private let labels: [Int]

    /// `folder` holds the PNGs (the asset's `72x72`).
    public init(folder: String, categories: EmojiCategories? = nil) throws {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
            throw DatasetError(.missing, file: folder, "cannot list the Twemoji folder (fetch it with `latte assets fetch twemoji`)")
        }
        var entries: [Entry] = [], skipped: [Skipped] = []
        // Byte order, so the item order does not depend on the file system or the locale.
        for file in names.sorted(by: { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }) where file.lowercased().hasSuffix(".png") {
            guard let sequence = EmojiSequence(fileStem: String(file.dropLast(4))) else {
                skipped.append(Skipped(file: file, reason: "the name is not code points in hex joined by '-'"))
                continue
            }
            do {
                let caption = try EmojiCaptioner.caption(sequence)
                entries.append(Entry(sequence: sequence, file: file, caption: caption,
                                     category: categories?.category(of: sequence) ?? EmojiCategories.unknown))
            } catch let failure as EmojiCaptioner.Failure {
                skipped.append(Skipped(file: file, reason: failure.reason))
            }
        }
        guard !entries.isEmpty else {
            throw DatasetError(.missing, file: folder, "no captionable Twemoji PNG here (\(skipped.count) skipped)")
        }
        let classes = Array(Set(entries.map(\.category))).sorted()
        let labelOf = Dictionary(uniqueKeysWithValues: classes.enumerated().map { ($1, $0) })
        self.folder = folder
        self.entries = entries
        self.skipped = skipped
        self.classNames = classes
        self.labels = entries.map { labelOf[$0.category]! }
    }

    public var count: Int { entries.count }

    public func imagePath(at index: Int) -> String { "\(folder)/\(entries[index].file)" }

    public func item(at index: Int) throws -> DatasetItem {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        return DatasetItem(image: try PNG.read(imagePath(at: index)), label: labels[index], caption: entries[index].caption)
    }

    public func annotation(at index: Int) throws -> DatasetAnnotation {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        return DatasetAnnotation(label: labels[index], captions: [entries[index].caption])
    }
}
