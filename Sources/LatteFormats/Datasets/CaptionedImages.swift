import Foundation

/// One line of a caption file: an image path (relative to the file) and its captions.
public struct CaptionLine: Sendable, Equatable {
    public var image: String
    public var captions: [String]
    public var label: String?
    /// 1-based line number in the file.
    public var line: Int
}

/// JSON Lines of `{"image": "relative/path.png", "caption": "…"}` or `"caption": ["…", "…"]`, with an
/// optional string `"label"`. Parsed strictly: every bad line is an error naming the file and line.
public enum CaptionLines {
    /// `pathKeys` are the accepted names of the path field, tried in order (the image folder's own
    /// `captions.jsonl` also takes its older `"file"`).
    public static func parse(_ bytes: [UInt8], file: String, pathKeys: [String] = ["image"]) throws -> [CaptionLine] {
        var body = bytes[...]
        if body.starts(with: [0xEF, 0xBB, 0xBF]) { body = body.dropFirst(3) }
        var lines: [CaptionLine] = []
        let expected = "expected {\"\(pathKeys[0])\": \"relative/path.png\", \"caption\": \"text\" or [\"text\", …]}"
        for (i, raw) in body.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let number = i + 1
            func fail(_ why: String) -> DatasetError { DatasetError(.corrupt, file: file, "line \(number): \(why)") }
            let trimmed = raw.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let object: Any
            do { object = try JSONSerialization.jsonObject(with: Data(trimmed)) } catch {
                throw fail("invalid JSON (\(expected))")
            }
            guard let entry = object as? [String: Any] else { throw fail("not a JSON object (\(expected))") }
            guard let key = pathKeys.first(where: { entry[$0] != nil }) else { throw fail("missing field \"\(pathKeys[0])\"") }
            guard let path = entry[key] as? String, !path.isEmpty else { throw fail("\"\(key)\" must be a non-empty string") }
            guard !path.hasPrefix("/") else { throw fail("\"\(key)\" '\(path)' is absolute; paths are relative to the caption file") }
            guard let value = entry["caption"] else { throw fail("missing field \"caption\"") }
            var captions: [String]
            if let text = value as? String {
                captions = [text]
            } else if let list = value as? [Any] {
                captions = try list.enumerated().map { j, element in
                    guard let text = element as? String else { throw fail("\"caption\" entry \(j + 1) is not a string") }
                    return text
                }
                guard !captions.isEmpty else { throw fail("\"caption\" is an empty list") }
            } else {
                throw fail("\"caption\" must be a string or a list of strings")
            }
            captions = captions.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            if let j = captions.firstIndex(where: \.isEmpty) { throw fail("caption \(j + 1) is empty") }
            var label: String? = nil
            if let value = entry["label"] {
                guard let text = value as? String, !text.isEmpty else { throw fail("\"label\" must be a non-empty string") }
                label = text
            }
            let normalized = path.hasPrefix("./") ? String(path.dropFirst(2)) : path
            lines.append(CaptionLine(image: normalized, captions: captions, label: label, line: number))
        }
        return lines
    }
}

/// Images described by free text: a JSONL caption file whose image paths are relative to the file's
/// folder. Labels are the sorted distinct `"label"` values when the lines carry them (all or none
/// must); without labels every item is class 0, named after the caption file.
/// Images are decoded on access: an unreadable file fails `item(at:)` with its path (the loader can
/// skip such files, see `DataLoaderOptions.unreadableImages`).
public struct CaptionedImageDataset: Dataset {
    public let captionFile: String
    /// The folder image paths are relative to.
    public let root: String
    public let lines: [CaptionLine]
    public let classNames: [String]
    public let labels: [Int]
    public let limits: ImageLimits

    public init(captionFile: String, limits: ImageLimits = .default) throws {
        let lines = try CaptionLines.parse(try DatasetFiles.read(captionFile), file: captionFile)
        guard !lines.isEmpty else { throw DatasetError(.missing, file: captionFile, "the caption file has no entries") }
        let labelled = lines.filter { $0.label != nil }
        if !labelled.isEmpty, labelled.count < lines.count {
            let first = lines.first { $0.label == nil }!
            throw DatasetError(.inconsistent, file: captionFile, "line \(first.line): no \"label\", but other lines have one (label all lines or none)")
        }
        let url = URL(fileURLWithPath: captionFile)
        self.captionFile = captionFile
        self.root = url.deletingLastPathComponent().path
        self.lines = lines
        if labelled.isEmpty {
            classNames = [url.deletingPathExtension().lastPathComponent]
            labels = [Int](repeating: 0, count: lines.count)
        } else {
            // Byte-wise, like the folder classes, so label indices do not depend on the locale.
            let names = Set(lines.map { $0.label! }).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            let index = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })
            classNames = names
            labels = lines.map { index[$0.label!]! }
        }
        self.limits = limits
    }

    public var count: Int { lines.count }

    /// The full path of item `index`'s image.
    public func imagePath(at index: Int) -> String { "\(root)/\(lines[index].image)" }

    public func captions(at index: Int) -> [String] { lines[index].captions }

    public func item(at index: Int) throws -> DatasetItem {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        let image = try ImageFile.read(imagePath(at: index), limits: limits)
        return DatasetItem(image: image, label: labels[index], captions: lines[index].captions)
    }

    public func annotation(at index: Int) throws -> DatasetAnnotation {
        precondition(index >= 0 && index < count, "index \(index) out of 0..<\(count)")
        return DatasetAnnotation(label: labels[index], captions: lines[index].captions)
    }
}
