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
/// predefined XML entities are decoded, and other lines (header, identity, comments) are ignored.
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
        var count = 0
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            guard line.hasPrefix("<annotation ") || line.hasPrefix("<annotation>") else { continue }
            func fail(_ reason: String) -> DatasetError { DatasetError(.corrupt, file: file, "line \(n + 1): \(reason): '\(line)'") }
            // <annotation cp="X"[ type="tts"]>TEXT</annotation>[ <!-- comment -->]
            guard line.hasPrefix("<annotation cp=\"") else { throw fail("expected '<annotation cp=\"…\"'") }
            let afterCP = line.dropFirst("<annotation cp=\"".count)
            guard let quote = afterCP.firstIndex(of: "\"") else { throw fail("unterminated cp attribute") }
            let cp = Self.decodeEntities(afterCP[..<quote])
            var rest = afterCP[afterCP.index(after: quote)...]
            var isName = false
            if rest.hasPrefix(" type=\"tts\"") { isName = true; rest = rest.dropFirst(" type=\"tts\"".count) }
            guard rest.hasPrefix(">"), let close = rest.range(of: "</annotation>") else {
                throw fail("expected '>' then the text and '</annotation>'")
            }
            let body = Self.decodeEntities(rest[rest.index(after: rest.startIndex)..<close.lowerBound])
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

    /// `&amp;` last, so "&amp;lt;" decodes to "&lt;" as XML does.
    static func decodeEntities(_ s: Substring) -> String {
        guard s.contains("&") else { return String(s) }
        return s.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&apos;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }
}
