/// A token matched in the text before normalisation and splitting (HF's AddedToken).
public struct AddedToken {
    public var id: Int
    public var content: String
    /// Special tokens (BOS, `<|im_start|>`, `[CLS]`…) can be skipped when decoding.
    public var special: Bool
    /// Match only when not touching word characters on either side.
    public var singleWord: Bool
    /// Also swallow the whitespace on the left / right of the match.
    public var lstrip: Bool
    public var rstrip: Bool
    /// Matched against the normalised text (true) or the raw text (false).
    public var normalized: Bool

    public init(id: Int, content: String, special: Bool, singleWord: Bool = false, lstrip: Bool = false,
                rstrip: Bool = false, normalized: Bool? = nil) {
        self.id = id
        self.content = content
        self.special = special
        self.singleWord = singleWord
        self.lstrip = lstrip
        self.rstrip = rstrip
        self.normalized = normalized ?? !special
    }
}

/// Finds added tokens in text: leftmost-longest, non-overlapping, as HF's Aho-Corasick matcher does.
struct AddedTokenMatcher {
    enum Segment { case text(Range<Int>), token(Int) }

    private struct Pattern { let scalars: [Unicode.Scalar]; let token: AddedToken }
    /// Patterns by first scalar, longest first.
    private var byFirst: [Unicode.Scalar: [Pattern]] = [:]

    var isEmpty: Bool { byFirst.isEmpty }

    /// `normalize` turns a `normalized: true` token's content into the form it is matched in.
    init(tokens: [AddedToken], normalize: (([Unicode.Scalar]) -> [Unicode.Scalar])?) {
        for t in tokens {
            var s = Array(t.content.unicodeScalars)
            if let normalize { s = normalize(s) }
            guard let first = s.first else { continue }
            byFirst[first, default: []].append(Pattern(scalars: s, token: t))
        }
        for k in byFirst.keys { byFirst[k]!.sort { $0.scalars.count > $1.scalars.count } }
    }

    func split(_ s: [Unicode.Scalar]) -> [Segment] {
        if byFirst.isEmpty { return [.text(0..<s.count)] }
        var out: [Segment] = []
        var textStart = 0
        var i = 0
        while i < s.count {
            guard let candidates = byFirst[s[i]],
                  let p = candidates.first(where: { i + $0.scalars.count <= s.count && s[i..<(i + $0.scalars.count)].elementsEqual($0.scalars) })
            else { i += 1; continue }
            var start = i
            var stop = i + p.scalars.count
            i = stop
            let t = p.token
            if t.singleWord {
                let before = start > 0 && AddedTokenMatcher.isWordScalar(s[start - 1])
                let after = stop < s.count && AddedTokenMatcher.isWordScalar(s[stop])
                if before || after { continue }
            }
            if t.lstrip {
                while start > textStart && UnicodeClass.isWhitespace(s[start - 1]) { start -= 1 }
            }
            if t.rstrip {
                while stop < s.count && UnicodeClass.isWhitespace(s[stop]) { stop += 1 }
                i = stop
            }
            if textStart < start { out.append(.text(textStart..<start)) }
            out.append(.token(t.id))
            textStart = stop
        }
        if textStart < s.count { out.append(.text(textStart..<s.count)) }
        return out
    }

    private static func isWordScalar(_ c: Unicode.Scalar) -> Bool {
        c == "_" || UnicodeClass.isAlphanumeric(c)
    }
}
