import Foundation

/// Display names per class folder, from a synset-style map: one `key<TAB>name, name…` line per class.
///
/// ImageNet's `words.txt` separates with a tab; its `LOC_synset_mapping.txt` uses a single space
/// (`n01440764 tench, Tinca tinca`), so a line without a tab splits at its first space. Keys that hold
/// spaces therefore need the tab. Names are the comma-separated parts, trimmed. Keys compare as Swift
/// strings (canonical equivalence), so an NFC map matches an NFD folder name and vice versa.
public struct ClassNameMap: Sendable, Equatable {
    /// Key (class folder name) → its display names, in file order.
    public let names: [String: [String]]
    /// Where the map came from, for error messages.
    public let file: String

    public init(names: [String: [String]], file: String = "<class names>") {
        self.names = names
        self.file = file
    }

    public init(path: String) throws {
        try self.init(bytes: try DatasetFiles.read(path), file: path)
    }

    /// Parses strictly: a line without a key or without a name, or a key given twice, is an error
    /// naming the line. Blank lines and lines starting with `#` are skipped; a UTF-8 BOM is ignored.
    public init(bytes: [UInt8], file: String) throws {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        var names: [String: [String]] = [:]
        for (i, raw) in body.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            guard let line = String(bytes: raw, encoding: .utf8)?.trimmingCharacters(in: .whitespacesAndNewlines) else {
                throw DatasetError(.corrupt, file: file, "line \(i + 1): not valid UTF-8")
            }
            if line.isEmpty || line.hasPrefix("#") { continue }
            let separator = line.firstIndex(of: "\t") ?? line.firstIndex(of: " ")
            guard let separator else {
                throw DatasetError(.corrupt, file: file, "line \(i + 1): expected 'class<TAB>name, name…', found no tab or space after '\(line)'")
            }
            let key = String(line[..<separator]).trimmingCharacters(in: .whitespaces)
            let list = line[line.index(after: separator)...].split(separator: ",")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            guard !key.isEmpty, !list.isEmpty else {
                throw DatasetError(.corrupt, file: file, "line \(i + 1): expected 'class<TAB>name, name…' with a class and at least one name")
            }
            guard names[key] == nil else {
                throw DatasetError(.inconsistent, file: file, "line \(i + 1): class '\(key)' is named a second time")
            }
            names[key] = list
        }
        guard !names.isEmpty else { throw DatasetError(.missing, file: file, "the class-name map has no entries") }
        self.names = names
        self.file = file
    }

    /// The display names of each class, in `classes` order. A map may hold more keys than there are
    /// classes (`words.txt` names every synset); a class the map does not name is an error, listing
    /// the first few, since a partial map is almost always the wrong file.
    public func displayNames(for classes: [String]) throws -> [[String]] {
        let missing = classes.filter { names[$0] == nil }
        guard missing.isEmpty else {
            let shown = missing.prefix(5).map { "'\($0)'" }.joined(separator: ", ")
            throw DatasetError(.inconsistent, file: file, "no names for \(missing.count) of \(classes.count) class folders: \(shown)\(missing.count > 5 ? ", …" : "")")
        }
        return classes.map { names[$0]! }
    }
}
