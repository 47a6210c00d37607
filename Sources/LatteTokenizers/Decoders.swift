import Foundation

/// tokenizer.json decoders: each maps the list of token strings to a new list; the result is joined.
indirect enum TokenDecoder {
    /// Token scalars back to bytes, then UTF-8 with U+FFFD for invalid sequences.
    case byteLevel
    /// Continuation pieces lose `prefix`, other pieces get a leading space; optional BERT cleanup.
    case wordPiece(prefix: String, cleanup: Bool)
    /// Runs of `<0xAB>` tokens become the UTF-8 text they spell (U+FFFD per byte if invalid).
    case byteFallback
    /// All tokens joined into one.
    case fuse
    /// Remove up to `start` / `stop` copies of `content` at each token's ends.
    case strip(content: Unicode.Scalar, start: Int, stop: Int)
    case replace(pattern: String, content: String)
    /// `replacement` becomes a space; in the first token it is dropped when a prefix was prepended.
    case metaspace(replacement: Unicode.Scalar, dropFirstPrefix: Bool)
    /// End-of-word suffix becomes a space (none after the last token).
    case bpeSuffix(String)
    case sequence([TokenDecoder])

    func decodeChain(_ tokens: [String]) -> [String] {
        switch self {
        case .byteLevel:
            var bytes: [UInt8] = []
            for t in tokens {
                if let b = ByteLevelAlphabet.decode(t) { bytes += b } else { bytes += Array(t.utf8) }
            }
            return [String(decoding: bytes, as: UTF8.self)]
        case let .wordPiece(prefix, cleanup):
            return tokens.enumerated().map { i, t in
                var s = t
                if i != 0 {
                    if s.utf8.starts(with: prefix.utf8) { s = String(decoding: s.utf8.dropFirst(prefix.utf8.count), as: UTF8.self) } else { s = " " + s }
                }
                return cleanup ? TokenDecoder.cleanUp(s) : s
            }
        case .byteFallback:
            var out: [String] = []
            var pending: [UInt8] = []
            func flush() {
                guard !pending.isEmpty else { return }
                if let s = String(validating: pending, as: UTF8.self) { out.append(s) } else { out += Array(repeating: "\u{FFFD}", count: pending.count) }
                pending.removeAll()
            }
            for t in tokens {
                let u = Array(t.utf8)
                if u.count == 6 && u[0] == 0x3C && u[1] == 0x30 && u[2] == 0x78 && u[5] == 0x3E,
                   let b = UInt8(String(decoding: u[3...4], as: UTF8.self), radix: 16) {
                    pending.append(b)
                } else {
                    flush()
                    out.append(t)
                }
            }
            flush()
            return out
        case .fuse:
            return [tokens.joined()]
        case let .strip(content, start, stop):
            return tokens.map { t in
                let s = Array(t.unicodeScalars)
                var lo = 0, hi = s.count
                while lo < min(start, s.count) && s[lo] == content { lo += 1 }
                var removed = 0
                while removed < stop && hi > lo && s[hi - 1] == content { hi -= 1; removed += 1 }
                var v = String.UnicodeScalarView()
                v.append(contentsOf: s[lo..<hi])
                return String(v)
            }
        case let .replace(pattern, content):
            return tokens.map { TokenDecoder.replaceAll($0, pattern, content) }
        case let .metaspace(replacement, dropFirstPrefix):
            return tokens.enumerated().map { i, t in
                var v = String.UnicodeScalarView()
                for c in t.unicodeScalars {
                    if c == replacement {
                        if !(i == 0 && dropFirstPrefix) { v.append(" ") }
                    } else {
                        v.append(c)
                    }
                }
                return String(v)
            }
        case .bpeSuffix(let suffix):
            return tokens.enumerated().map { i, t in
                TokenDecoder.replaceAll(t, suffix, i == tokens.count - 1 ? "" : " ")
            }
        case .sequence(let list):
            return list.reduce(tokens) { $1.decodeChain($0) }
        }
    }

    /// Byte-exact replacement (Swift's `replacingOccurrences` compares canonically equivalent text).
    static func replaceAll(_ s: String, _ pattern: String, _ content: String) -> String {
        let p = Array(pattern.unicodeScalars)
        let src = Array(s.unicodeScalars)
        let ms = SplitPattern.literalMatches(p, in: src)
        if ms.isEmpty { return s }
        var v = String.UnicodeScalarView()
        var pos = 0
        for m in ms {
            v.append(contentsOf: src[pos..<m.lowerBound])
            v.append(contentsOf: content.unicodeScalars)
            pos = m.upperBound
        }
        v.append(contentsOf: src[pos...])
        return String(v)
    }

    /// BERT's clean_up_tokenization: spaces before punctuation and contractions removed.
    static func cleanUp(_ s: String) -> String {
        var r = s
        for (a, b) in [(" .", "."), (" ?", "?"), (" !", "!"), (" ,", ","), (" ' ", "'"), (" n't", "n't"),
                       (" 'm", "'m"), (" do not", " don't"), (" 's", "'s"), (" 've", "'ve"), (" 're", "'re")] {
            r = replaceAll(r, a, b)
        }
        return r
    }
}
