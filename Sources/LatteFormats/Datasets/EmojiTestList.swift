import Foundation

/// Unicode's `emoji-test.txt` (UTS #51 keyboard and display test data): every emoji sequence with its
/// qualification status, its CLDR short name and the group and subgroup it is listed under.
///
///     # group: Smileys & Emotion
///     # subgroup: emotion
///     2764 FE0F      ; fully-qualified     # ❤️ E0.6 red heart
///     2764           ; unqualified         # ❤ E0.6 red heart
///
/// The file lists one emoji several times when it may be written with or without U+FE0F
/// (fully-, minimally- and un-qualified); they share a `EmojiSequence.matchKey`, and the first listed
/// (the fully-qualified form) is the one kept. Parsing is strict: a data line that does not have this
/// shape, an unknown status, an entry before any group, or one `matchKey` with two different names
/// throws a `DatasetError` naming the file and line.
public struct EmojiTestList: Sendable {
    public enum Status: String, Sendable { case component, fullyQualified = "fully-qualified", minimallyQualified = "minimally-qualified", unqualified }

    public struct Entry: Sendable, Equatable {
        public var sequence: EmojiSequence
        public var status: Status
        /// The CLDR short name as the file writes it: "red heart", "thumbs up: medium skin tone", "flag: France".
        public var name: String
        public var group: String
        public var subgroup: String
    }

    /// One entry per `matchKey`, in file order (CLDR order).
    public let entries: [Entry]
    /// The groups in file order ("Smileys & Emotion" … "Flags", "Component" among them).
    public let groups: [String]
    private let indexByKey: [String: Int]

    public init(path: String) throws {
        let bytes = try DatasetFiles.read(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw DatasetError(.corrupt, file: path, "not UTF-8 text")
        }
        try self.init(text: text, file: path)
    }

    /// `file` names the source in errors.
    public init(text: String, file: String) throws {
        var entries: [Entry] = [], groups: [String] = [], index: [String: Int] = [:]
        var group: String? = nil, subgroup: String? = nil
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            func fail(_ reason: String) -> DatasetError { DatasetError(.corrupt, file: file, "line \(n + 1): \(reason): '\(line)'") }
            if line.hasPrefix("# group:") {
                let g = line.dropFirst("# group:".count).trimmingCharacters(in: .whitespaces)
                guard !g.isEmpty else { throw fail("empty group name") }
                group = g; subgroup = nil
                if !groups.contains(g) { groups.append(g) }
                continue
            }
            if line.hasPrefix("# subgroup:") {
                subgroup = line.dropFirst("# subgroup:".count).trimmingCharacters(in: .whitespaces)
                continue
            }
            if line.isEmpty || line.hasPrefix("#") { continue }

            // "<code points> ; <status> # <emoji> E<version> <name>", split on scalars: a skin-tone
            // modifier joins the space before it into one Character.
            let scalars0 = Array(line.unicodeScalars)
            guard let semicolon = scalars0.firstIndex(of: ";"), let hash = scalars0[semicolon...].firstIndex(of: "#") else {
                throw fail("expected '<code points> ; <status> # <emoji> E<version> <name>'")
            }
            func text(_ part: ArraySlice<Unicode.Scalar>) -> String { String(String.UnicodeScalarView(part)) }
            let points = text(scalars0[..<semicolon]).split(separator: " ")
            var scalars: [UInt32] = []
            for p in points {
                guard p.count <= 6, let v = UInt32(p, radix: 16), Unicode.Scalar(v) != nil else { throw fail("'\(p)' is not a code point in hex") }
                scalars.append(v)
            }
            guard !scalars.isEmpty else { throw fail("no code points") }
            let statusText = text(scalars0[(semicolon + 1)..<hash]).trimmingCharacters(in: .whitespaces)
            guard let status = Status(rawValue: statusText) else { throw fail("unknown status '\(statusText)'") }
            // The comment is the emoji itself, its version ("E0.6") and the name, which may hold spaces.
            let comment = scalars0[(hash + 1)...].split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true).map(text)
            guard comment.count == 3, comment[1].hasPrefix("E"), Double(comment[1].dropFirst()) != nil else {
                throw fail("the comment is not '<emoji> E<version> <name>'")
            }
            guard let group, let subgroup else { throw fail("an entry before any '# group:' and '# subgroup:' line") }
            let sequence = EmojiSequence(scalars: scalars)
            let entry = Entry(sequence: sequence, status: status, name: comment[2], group: group, subgroup: subgroup)
            if let i = index[sequence.matchKey] {
                // Another qualification of an emoji already listed: it must carry the same name.
                guard entries[i].name == entry.name else {
                    throw fail("\(sequence) is named '\(entry.name)' but its other form \(entries[i].sequence) '\(entries[i].name)'")
                }
                continue
            }
            index[sequence.matchKey] = entries.count
            entries.append(entry)
        }
        guard !entries.isEmpty else { throw DatasetError(.corrupt, file: file, "no emoji entries (not an emoji-test.txt?)") }
        self.entries = entries
        self.groups = groups
        self.indexByKey = index
    }

    /// The entry for an emoji however it is spelled (with or without U+FE0F), nil when not listed.
    public func entry(for sequence: EmojiSequence) -> Entry? { entry(forKey: sequence.matchKey) }

    public func entry(forKey matchKey: String) -> Entry? { indexByKey[matchKey].map { entries[$0] } }
}
