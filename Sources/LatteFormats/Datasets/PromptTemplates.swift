import Foundation

/// Prompt templates such as `"a photo of a {name}"`: each class gets one phrase per template × name,
/// the text a class-conditional trainer draws a prompt from.
public struct PromptTemplates: Sendable, Equatable {
    public static let placeholder = "{name}"
    public let templates: [String]

    /// Each template must hold `{name}` (at least once); duplicates are dropped, order kept.
    public init(_ templates: [String], file: String = "<templates>") throws {
        guard !templates.isEmpty else { throw DatasetError(.missing, file: file, "no prompt templates") }
        var kept: [String] = []
        for (i, template) in templates.enumerated() {
            guard template.contains(Self.placeholder) else {
                throw DatasetError(.corrupt, file: file, "template \(i + 1) '\(template)' has no \(Self.placeholder) placeholder")
            }
            if !kept.contains(template) { kept.append(template) }
        }
        self.templates = kept
    }

    /// One template per line; blank lines and `#` comments are skipped.
    public init(path: String) throws {
        let bytes = try DatasetFiles.read(path)
        guard let text = String(bytes: bytes, encoding: .utf8) else { throw DatasetError(.corrupt, file: path, "not valid UTF-8") }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        try self.init(lines.filter { !$0.isEmpty && !$0.hasPrefix("#") }, file: path)
    }

    /// `"{name}"` alone: the class name is the prompt.
    public static let nameOnly = try! PromptTemplates([placeholder])

    /// Template-major (every name in the first template, then the second, …), duplicates dropped.
    public func phrases(for names: [String]) -> [String] {
        var seen = Set<String>(), out: [String] = []
        for template in templates {
            for name in names {
                let phrase = template.replacingOccurrences(of: Self.placeholder, with: name)
                if seen.insert(phrase).inserted { out.append(phrase) }
            }
        }
        return out
    }
}
