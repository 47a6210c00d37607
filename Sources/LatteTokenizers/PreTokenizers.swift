/// tokenizer.json pre-tokenizers: each cuts a normalised piece into words for the model.
indirect enum PreTokenizer {
    /// GPT-2 byte-level: optional prefix space, optional GPT-2 split, then bytes mapped to printable scalars.
    case byteLevel(addPrefixSpace: Bool, useRegex: Bool)
    /// BERT: split on whitespace (dropped) then isolate each punctuation character.
    case bert
    /// `\w+|[^\w\s]+`.
    case whitespace
    /// Split on whitespace, dropped.
    case whitespaceSplit
    case punctuation(SplitBehavior)
    case digits(individual: Bool)
    case split(SplitPattern, SplitBehavior, invert: Bool)
    /// SentencePiece-style: spaces become `replacement`, optionally prepended, optionally split before it.
    case metaspace(replacement: Unicode.Scalar, prepend: MetaspacePrepend, split: Bool)
    case sequence([PreTokenizer])

    enum MetaspacePrepend: String { case always, first, never }

    /// `isFirst`: the piece starts the text (Metaspace's prepend scheme "first").
    func preTokenize(_ words: [[Unicode.Scalar]], isFirst: Bool) -> [[Unicode.Scalar]] {
        if case .sequence(let list) = self {
            return list.reduce(words) { $1.preTokenize($0, isFirst: isFirst) }
        }
        var out: [[Unicode.Scalar]] = []
        out.reserveCapacity(words.count * 2)
        for (n, w) in words.enumerated() { out.append(contentsOf: split(w, isFirst: isFirst && n == 0)) }
        return out
    }

    private func split(_ w: [Unicode.Scalar], isFirst: Bool) -> [[Unicode.Scalar]] {
        switch self {
        case let .byteLevel(addPrefixSpace, useRegex):
            var s = w
            if addPrefixSpace && !s.isEmpty && s[0] != " " { s.insert(" ", at: 0) }
            let parts = useRegex ? SplitBehavior.isolated.apply(s, matches: SplitPattern.gpt2Matches(s)) : [s]
            return parts.map(ByteLevelAlphabet.encode)
        case .bert:
            let words = SplitBehavior.removed.apply(w, matches: PreTokenizer.charMatches(w, UnicodeClass.isWhitespace))
            return words.flatMap {
                SplitBehavior.isolated.apply($0, matches: PreTokenizer.charMatches($0, UnicodeClass.isBertPunctuation))
            }
        case .whitespace:
            // Matches of \w+|[^\w\s]+ are kept; the whitespace between them is dropped.
            var ranges: [Range<Int>] = []
            var i = 0
            while i < w.count {
                if UnicodeClass.isWhitespace(w[i]) { i += 1; continue }
                let word = UnicodeClass.isWordCharacter(w[i])
                let start = i
                while i < w.count && !UnicodeClass.isWhitespace(w[i]) && UnicodeClass.isWordCharacter(w[i]) == word { i += 1 }
                ranges.append(start..<i)
            }
            return ranges.map { Array(w[$0]) }
        case .whitespaceSplit:
            return SplitBehavior.removed.apply(w, matches: PreTokenizer.charMatches(w, UnicodeClass.isWhitespace))
        case .punctuation(let behavior):
            return behavior.apply(w, matches: PreTokenizer.charMatches(w, UnicodeClass.isBertPunctuation))
        case .digits(let individual):
            return (individual ? SplitBehavior.isolated : .contiguous)
                .apply(w, matches: PreTokenizer.charMatches(w, UnicodeClass.isNumber))
        case let .split(pattern, behavior, invert):
            return behavior.apply(w, matches: pattern.matches(in: w), invert: invert)
        case let .metaspace(replacement, prepend, split):
            var s = w.map { $0 == " " ? replacement : $0 }
            let add = prepend == .always || (prepend == .first && isFirst)
            if add && !s.isEmpty && s[0] != replacement { s.insert(replacement, at: 0) }
            if !split { return s.isEmpty ? [] : [s] }
            return SplitBehavior.mergedWithNext.apply(s, matches: SplitPattern.literalMatches([replacement], in: s))
        case .sequence:
            return preTokenize([w], isFirst: isFirst)
        }
    }

    /// Each scalar satisfying `test` as its own one-scalar match.
    static func charMatches(_ s: [Unicode.Scalar], _ test: (Unicode.Scalar) -> Bool) -> [Range<Int>] {
        var out: [Range<Int>] = []
        for i in s.indices where test(s[i]) { out.append(i..<(i + 1)) }
        return out
    }
}

/// GPT-2's reversible map from bytes to printable scalars: printable Latin-1 bytes map to themselves,
/// the other 68 bytes to U+0100… in byte order.
enum ByteLevelAlphabet {
    static let byteToScalar: [Unicode.Scalar] = {
        var table = [Unicode.Scalar](repeating: " ", count: 256)
        var next: UInt32 = 256
        for b in 0..<256 {
            if (33...126).contains(b) || (161...172).contains(b) || (174...255).contains(b) {
                table[b] = Unicode.Scalar(UInt32(b))!
            } else {
                table[b] = Unicode.Scalar(next)!
                next += 1
            }
        }
        return table
    }()

    /// Scalar value → byte, or -1; covers U+0000…U+0143.
    static let scalarToByte: [Int16] = {
        var table = [Int16](repeating: -1, count: 0x144)
        for (b, s) in byteToScalar.enumerated() { table[Int(s.value)] = Int16(b) }
        return table
    }()

    static func encode(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count)
        for c in s {
            if c.value < 0x80 {
                out.append(byteToScalar[Int(c.value)])
            } else {
                for b in UTF8.encode(c)! { out.append(byteToScalar[Int(b)]) }
            }
        }
        return out
    }

    /// The bytes of a token, or nil when one of its scalars is outside the alphabet.
    static func decode(_ token: String) -> [UInt8]? {
        var out: [UInt8] = []
        out.reserveCapacity(token.utf8.count)
        for c in token.unicodeScalars {
            guard c.value < 0x144 else { return nil }
            let b = scalarToByte[Int(c.value)]
            guard b >= 0 else { return nil }
            out.append(UInt8(b))
        }
        return out
    }
}
