import Foundation

/// The EmojiOne 2.x set as shipped by Debian's ruby-gemojione: `config/index.json` (name, category,
/// keywords per emoji) and `assets/png/<UNICODE>.png` (64×64 RGBA).
///
/// Labels index the sorted category names; the caption is the emoji's name followed by its keywords
/// ("hundred points symbol, numbers, perfect, score, …").
public struct EmojiOneDataset: Dataset {
    public struct Entry: Sendable, Equatable {
        public var unicode: String
        public var name: String
        public var category: String
        public var keywords: [String]
    }

    public let root: String
    public let entries: [Entry]
    public let classNames: [String]
    private let labels: [Int]

    /// `root` is the gem folder (holding `config/` and `assets/`). Entries whose PNG is absent are left
    /// out; at least one must be present.
    public init(root: String) throws {
        let indexPath = "\(root)/config/index.json"
        let bytes = try DatasetFiles.read(indexPath)
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)), let index = object as? [String: Any] else {
            throw DatasetError(.corrupt, file: indexPath, "not a JSON object of emoji entries")
        }
        var entries: [Entry] = []
        for (key, value) in index {
            guard let fields = value as? [String: Any], let unicode = fields["unicode"] as? String,
                  let name = fields["name"] as? String else {
                throw DatasetError(.corrupt, file: indexPath, "entry '\(key)' lacks a string 'unicode' or 'name'")
            }
            // A code-point string only: it becomes a file name.
            guard !unicode.isEmpty, unicode.allSatisfy({ $0.isHexDigit || $0 == "-" }) else {
                throw DatasetError(.corrupt, file: indexPath, "entry '\(key)' has a malformed unicode field '\(unicode)'")
            }
            let category = fields["category"] as? String ?? "uncategorized"
            let keywords = fields["keywords"] as? [String] ?? []
            guard FileManager.default.fileExists(atPath: "\(root)/assets/png/\(unicode).png") else { continue }
            entries.append(Entry(unicode: unicode, name: name, category: category, keywords: keywords))
        }
        guard !entries.isEmpty else {
            throw DatasetError(.missing, file: "\(root)/assets/png", "none of the \(index.count) emoji in index.json has a PNG here")
        }
        // JSON objects are unordered; sort by code points for a stable item order.
        entries.sort { $0.unicode < $1.unicode }
        let categories = Array(Set(entries.map(\.category))).sorted()
        let labelOf = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
        self.root = root
        self.entries = entries
        self.classNames = categories
        self.labels = entries.map { labelOf[$0.category]! }
    }

    public var count: Int { entries.count }

    public func caption(at index: Int) -> String {
        let entry = entries[index]
        return ([entry.name] + entry.keywords.filter { $0 != entry.name }).joined(separator: ", ")
    }

    public func item(at index: Int) throws -> DatasetItem {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        let image = try PNG.read("\(root)/assets/png/\(entries[index].unicode).png")
        return DatasetItem(image: image, label: labels[index], caption: caption(at: index))
    }

    public func annotation(at index: Int) throws -> DatasetAnnotation {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        return DatasetAnnotation(label: labels[index], captions: [caption(at: index)])
    }
}
