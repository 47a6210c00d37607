import Foundation

/// CLDR's emoji annotations for one language (`common/annotations/en.xml`, and
/// `common/annotationsDerived/en.xml` for skin-tone, gendered and flag sequences): keywords and the
/// text-to-speech name per emoji, keyed by `EmojiSequence.matchKey` (CLDR writes `cp` without U+FE0F).
///
///     <annotation cp="❤‍🔥">burn | heart | heart on fire | love | lust | sacred heart</annotation>
///     <annotation cp="❤‍🔥" type="tts">heart on fire</annotation>
///
/// A purpose-built reader of exactly these one-line elements, not an XML parser: every line that
/// opens `<annotation` must have this shape (else a `DatasetError` naming the file and line), the five
/// predefined XML entities are decoded, and other lines (header, identity, comments, and annotations
/// commented out in a multi-line `<!-- … -->`) are ignored.
/// Files read later override earlier ones for the same emoji.
public struct CLDRAnnotations: Sendable {
    /// Keywords in file order (CLDR sorts them), e.g. ["burn", "heart", "heart on fire", …].
    public private(set) var keywords: [String: [String]] = [:]
    /// The `type="tts"` name, e.g. "heart on fire", "thumbs up: medium skin tone".
    public private(set) var names: [String: String] = [:]

    public init(paths: [String]) throws {
        for path in paths {
            let bytes = try DatasetFiles.read(path)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw DatasetError(.corrupt, file: path, "not UTF-8 text")
            }
            try add(text: text, file: path)
        }
    }

    /// `file` names the source in errors.
    public init(text: String, file: String) throws { try add(text: text, file: file) }

    mutating func add(text: String, file: String) throws {
        var count = 0, inComment = false
        // Matched on UTF-8 bytes, not Characters: a skin-tone modifier after `"` would join the quote
        // into one grapheme cluster and hide it from a Character search.
        for (n, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            var line = ArraySlice(raw)
            while let f = line.first, f == UInt8(ascii: " ") || f == UInt8(ascii: "\t") { line.removeFirst() }
            // Multi-line comments hold commented-out annotations (en.xml's "causes tool breakage" block).
            if inComment {
                if Self.find("-->", in: line) != nil { inComment = false }
                continue
            }
            if line.starts(with: "<!--".utf8), Self.find("-->", in: line) == nil { inComment = true; continue }
            guard line.starts(with: Self.open.utf8) else { continue }
            func fail(_ reason: String) -> DatasetError {
                DatasetError(.corrupt, file: file, "line \(n + 1): \(reason): '\(String(decoding: line, as: UTF8.self))'")
            }
            // <annotation cp="X"[ type="tts"]>TEXT</annotation>[ <!-- comment -->]
            guard line.starts(with: Self.openCP.utf8) else { throw fail("expected '<annotation cp=\"…\"'") }
            var rest = line.dropFirst(Self.openCP.utf8.count)
            guard let quote = rest.firstIndex(of: UInt8(ascii: "\"")) else { throw fail("unterminated cp attribute") }
            let cp = Self.decodeEntities(String(decoding: rest[..<quote], as: UTF8.self))
            rest = rest[(quote + 1)...]
            var isName = false
            if rest.starts(with: Self.tts.utf8) { isName = true; rest = rest.dropFirst(Self.tts.utf8.count) }
            guard rest.first == UInt8(ascii: ">"), let close = Self.find(Self.close, in: rest) else {
                throw fail("expected '>' then the text and '</annotation>'")
            }
            let body = Self.decodeEntities(String(decoding: rest[(rest.startIndex + 1)..<close], as: UTF8.self))
            guard !cp.isEmpty else { throw fail("empty cp attribute") }
            let key = EmojiSequence(scalars: cp.unicodeScalars.map(\.value)).matchKey
            if isName {
                names[key] = body
            } else {
                keywords[key] = body.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            }
            count += 1
        }
        guard count > 0 else { throw DatasetError(.corrupt, file: file, "no <annotation> lines (not a CLDR annotations file?)") }
    }

    static let open = "<annotation ", openCP = "<annotation cp=\"", tts = " type=\"tts\"", close = "</annotation>"

    /// Where `needle` starts in `bytes`.
    static func find(_ needle: String, in bytes: ArraySlice<UInt8>) -> Int? {
        let n = Array(needle.utf8)
        guard bytes.count >= n.count else { return nil }
        for i in bytes.startIndex...(bytes.endIndex - n.count) where bytes[i..<(i + n.count)].elementsEqual(n) { return i }
        return nil
    }

    /// `&amp;` last, so "&amp;lt;" decodes to "&lt;" as XML does.
    static func decodeEntities(_ s: String) -> String {
        guard s.contains("&") else { return s }
        return s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
