import Foundation

/// tokenizer.json normalisers. They work on Unicode scalars, never on Swift `Character`s, because HF
/// `tokenizers` works on Rust `char`s (scalars) and Swift's grapheme clusters would merge them.
indirect enum Normalizer {
    case nfc, nfd, nfkc, nfkd
    case lowercase
    case stripAccents
    case bert(cleanText: Bool, handleChineseChars: Bool, stripAccents: Bool, lowercase: Bool)
    case replace(SplitPattern, with: [Unicode.Scalar])
    case prepend([Unicode.Scalar])
    case strip(left: Bool, right: Bool)
    case sequence([Normalizer])

    func normalize(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        switch self {
        case .nfc: return Normalizer.unicodeForm(s) { $0.precomposedStringWithCanonicalMapping }
        case .nfd: return Normalizer.unicodeForm(s) { $0.decomposedStringWithCanonicalMapping }
        case .nfkc: return Normalizer.unicodeForm(s) { $0.precomposedStringWithCompatibilityMapping }
        case .nfkd: return Normalizer.unicodeForm(s) { $0.decomposedStringWithCompatibilityMapping }
        case .lowercase: return UnicodeClass.lowercased(s)
        case .stripAccents: return s.filter { !UnicodeClass.isMark($0) }
        case let .bert(cleanText, chinese, strip, lower):
            var out = s
            if cleanText {
                // Drop NUL, U+FFFD and control characters; every whitespace becomes a plain space.
                out = out.compactMap { c in
                    if c.value == 0 || c.value == 0xFFFD || UnicodeClass.isBertControl(c) { return nil }
                    return UnicodeClass.isWhitespace(c) ? " " : c
                }
            }
            if chinese {
                var padded: [Unicode.Scalar] = []
                padded.reserveCapacity(out.count)
                for c in out {
                    if UnicodeClass.isCJKIdeograph(c) { padded.append(" "); padded.append(c); padded.append(" ") } else { padded.append(c) }
                }
                out = padded
            }
            if strip { out = Normalizer.nfd.normalize(out).filter { !UnicodeClass.isNonspacingMark($0) } }
            if lower { out = UnicodeClass.lowercased(out) }
            return out
        case let .replace(pattern, content):
            let ms = pattern.matches(in: s)
            if ms.isEmpty { return s }
            var out: [Unicode.Scalar] = []
            var pos = 0
            for m in ms {
                out.append(contentsOf: s[pos..<m.lowerBound])
                out.append(contentsOf: content)
                pos = m.upperBound
            }
            out.append(contentsOf: s[pos...])
            return out
        case .prepend(let p):
            // HF prepends only to non-empty strings.
            return s.isEmpty ? s : p + s
        case let .strip(left, right):
            var lo = 0, hi = s.count
            if left { while lo < hi && UnicodeClass.isWhitespace(s[lo]) { lo += 1 } }
            if right { while hi > lo && UnicodeClass.isWhitespace(s[hi - 1]) { hi -= 1 } }
            return Array(s[lo..<hi])
        case .sequence(let list):
            return list.reduce(s) { $1.normalize($0) }
        }
    }

    private static func unicodeForm(_ s: [Unicode.Scalar], _ f: (String) -> String) -> [Unicode.Scalar] {
        // ASCII is invariant under every normal form.
        if s.allSatisfy({ $0.value < 0x80 }) { return s }
        var view = String.UnicodeScalarView()
        view.append(contentsOf: s)
        return Array(f(String(view)).unicodeScalars)
    }
}
