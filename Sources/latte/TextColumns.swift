extension String {
    /// The string padded with spaces to `width` characters, never cut: a label column as wide as the
    /// longest of `labels` ("Smileys & Emotion", not "Smileys & Em").
    func column(_ labels: [String], minimum: Int = 12) -> String {
        let width = Swift.max(minimum, labels.map(\.count).max() ?? 0)
        return count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
