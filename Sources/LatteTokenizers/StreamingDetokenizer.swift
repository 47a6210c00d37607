/// Turns ids into text one id at a time, for printing tokens as a model generates them.
///
/// Byte-level tokens can end in the middle of a UTF-8 character (an emoji spans up to four tokens), and
/// decoders such as WordPiece or Metaspace change a token's text depending on its neighbours. So each
/// step decodes a short window — the last emitted token as context plus the pending ones — and emits
/// only what the window adds beyond its context, and nothing while the text ends in U+FFFD (an
/// incomplete character). `finish()` flushes whatever remains.
public struct StreamingDetokenizer {
    public let tokenizer: Tokenizer
    public let skipSpecialTokens: Bool
    private var ids: [Int] = []
    /// ids[prefixStart..<readStart] is context already emitted; ids[readStart...] is pending.
    private var prefixStart = 0
    private var readStart = 0

    public init(tokenizer: Tokenizer, skipSpecialTokens: Bool = true) {
        self.tokenizer = tokenizer
        self.skipSpecialTokens = skipSpecialTokens
    }

    /// Adds one id; returns the text that is now complete (often empty).
    public mutating func push(_ id: Int) -> String {
        ids.append(id)
        return emit(final: false)
    }

    /// Returns the remaining text, complete or not, and resets.
    public mutating func finish() -> String {
        let s = emit(final: true)
        ids.removeAll()
        prefixStart = 0
        readStart = 0
        return s
    }

    private mutating func emit(final: Bool) -> String {
        let context = Array(tokenizer.decode(Array(ids[prefixStart..<readStart]), skipSpecialTokens: skipSpecialTokens).unicodeScalars)
        let full = Array(tokenizer.decode(Array(ids[prefixStart...]), skipSpecialTokens: skipSpecialTokens).unicodeScalars)
        guard full.count > context.count, full.starts(with: context) || final else { return "" }
        if !final && full.last == "\u{FFFD}" { return "" }
        var v = String.UnicodeScalarView()
        v.append(contentsOf: full.starts(with: context) ? full[context.count...] : full[...])
        prefixStart = readStart
        readStart = ids.count
        return String(v)
    }
}
