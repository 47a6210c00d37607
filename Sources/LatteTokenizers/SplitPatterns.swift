import Foundation

/// The regular expressions tokenizers split text with, answered by hand-written matchers over Unicode
/// scalars (NSRegularExpression on Linux is slow and differs from Oniguruma in corner cases). Patterns
/// that are not one of the known split regexes fall back to NSRegularExpression.
enum SplitPattern {
    /// A literal string.
    case literal([Unicode.Scalar])
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` (GPT-2 and ByteLevel).
    case gpt2
    /// Qwen2 (`maxDigits` 1) and Llama-3 (`maxDigits` 3):
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,k}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case qwen2(maxDigits: Int)
    /// `\p{N}`: one number character.
    case singleNumber
    /// Any other regex, through NSRegularExpression.
    case regex(NSRegularExpression)

    static let gpt2Source = #"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"#
    static let qwen2Source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#
    static let llama3Source =
        #"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"#

    /// Recognises the known split regexes; anything else is compiled with NSRegularExpression.
    static func fromRegex(_ source: String) throws -> SplitPattern {
        switch source {
        case gpt2Source: return .gpt2
        case qwen2Source: return .qwen2(maxDigits: 1)
        case llama3Source: return .qwen2(maxDigits: 3)
        case #"\p{N}"#: return .singleNumber
        default: return .regex(try NSRegularExpression(pattern: source))
        }
    }

    /// The non-overlapping matches, left to right, as scalar index ranges.
    func matches(in s: [Unicode.Scalar]) -> [Range<Int>] {
        switch self {
        case .literal(let lit): return SplitPattern.literalMatches(lit, in: s)
        case .gpt2: return SplitPattern.gpt2Matches(s)
        case .qwen2(let maxDigits): return SplitPattern.qwen2Matches(s, maxDigits: maxDigits)
        case .singleNumber: return s.indices.filter { UnicodeClass.isNumber(s[$0]) }.map { $0..<($0 + 1) }
        case .regex(let re): return SplitPattern.regexMatches(re, in: s)
        }
    }

    static func literalMatches(_ lit: [Unicode.Scalar], in s: [Unicode.Scalar]) -> [Range<Int>] {
        guard !lit.isEmpty, lit.count <= s.count else { return [] }
        var out: [Range<Int>] = []
        var i = 0
        while i + lit.count <= s.count {
            if s[i] == lit[0] && s[i..<(i + lit.count)].elementsEqual(lit) {
                out.append(i..<(i + lit.count))
                i += lit.count
            } else {
                i += 1
            }
        }
        return out
    }

    // MARK: Hand-written matchers

    /// Scalar classes the split regexes distinguish, computed once per scalar.
    private enum Kind: UInt8 { case letter, number, space, newline, other }

    private static func classify(_ s: [Unicode.Scalar]) -> [Kind] {
        s.map { c in
            if c == "\n" || c == "\r" { return .newline }
            if UnicodeClass.isLetter(c) { return .letter }
            if UnicodeClass.isNumber(c) { return .number }
            if UnicodeClass.isWhitespace(c) { return .space }
            return .other
        }
    }

    /// Length of a contraction `'s|'t|'re|'ve|'m|'ll|'d` at `i`, or 0.
    private static func contraction(_ s: [Unicode.Scalar], _ i: Int, caseInsensitive: Bool) -> Int {
        guard s[i] == "'", i + 1 < s.count else { return 0 }
        func low(_ c: Unicode.Scalar) -> Unicode.Scalar {
            guard caseInsensitive else { return c }
            if c.value >= 0x41 && c.value <= 0x5A { return Unicode.Scalar(c.value + 32)! }
            if c == "\u{017F}" { return "s" }  // (?i) folds the long s to s
            return c
        }
        let a = low(s[i + 1])
        if a == "s" || a == "t" || a == "m" || a == "d" { return 2 }
        if i + 2 < s.count {
            let b = low(s[i + 2])
            if (a == "r" && b == "e") || (a == "v" && b == "e") || (a == "l" && b == "l") { return 3 }
        }
        return 0
    }

    /// End of the whitespace match at `i` for `\s+(?!\S)|\s+`: a run followed by a non-space gives back
    /// its last scalar (so that scalar can prefix the next word), unless the run is a single scalar.
    @inline(__always) private static func whitespaceEnd(_ k: [Kind], _ i: Int) -> Int {
        var j = i
        while j < k.count && (k[j] == .space || k[j] == .newline) { j += 1 }
        if j < k.count && j - i >= 2 { return j - 1 }
        return j
    }

    static func gpt2Matches(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        let k = classify(s)
        let n = s.count
        var out: [Range<Int>] = []
        out.reserveCapacity(n / 3 + 1)
        var i = 0
        func run(_ from: Int, _ kind: Kind) -> Int {
            var j = from
            while j < n && k[j] == kind { j += 1 }
            return j
        }
        func runOther(_ from: Int) -> Int {
            var j = from
            while j < n && k[j] == .other { j += 1 }
            return j
        }
        while i < n {
            let start = i
            let c = contraction(s, i, caseInsensitive: false)
            if c > 0 {
                i += c
            } else {
                // ` ?X+` for letters, numbers and "other": an optional single U+0020 then a run.
                let body = (s[i] == " " && i + 1 < n) ? i + 1 : i
                switch k[body] {
                case .letter where body == i || s[i] == " ": i = run(body, .letter)
                case .number where body == i || s[i] == " ": i = run(body, .number)
                case .other where body == i || s[i] == " ": i = runOther(body)
                default: i = whitespaceEnd(k, i)
                }
                if i == start { i = whitespaceEnd(k, start) }
            }
            out.append(start..<i)
        }
        return out
    }

    static func qwen2Matches(_ s: [Unicode.Scalar], maxDigits: Int) -> [Range<Int>] {
        let k = classify(s)
        let n = s.count
        var out: [Range<Int>] = []
        out.reserveCapacity(n / 3 + 1)
        var i = 0
        while i < n {
            let start = i
            defer { out.append(start..<i) }
            let c = contraction(s, i, caseInsensitive: true)
            if c > 0 { i += c; continue }
            // [^\r\n\p{L}\p{N}]?\p{L}+
            if k[i] == .letter || (k[i] != .newline && k[i] != .number && i + 1 < n && k[i + 1] == .letter) {
                i += 1
                while i < n && k[i] == .letter { i += 1 }
                continue
            }
            // \p{N}{1,maxDigits}
            if k[i] == .number {
                i += 1
                while i < n && i - start < maxDigits && k[i] == .number { i += 1 }
                continue
            }
            // ` ?[^\s\p{L}\p{N}]+[\r\n]*`
            let body = (s[i] == " " && i + 1 < n && k[i + 1] == .other) ? i + 1 : i
            if k[body] == .other {
                i = body
                while i < n && k[i] == .other { i += 1 }
                while i < n && k[i] == .newline { i += 1 }
                continue
            }
            // \s*[\r\n]+ : the whitespace run up to and including its last newline.
            var j = i
            var lastNewline = -1
            while j < n && (k[j] == .space || k[j] == .newline) {
                if k[j] == .newline { lastNewline = j }
                j += 1
            }
            if lastNewline >= 0 { i = lastNewline + 1; continue }
            // \s+(?!\S)|\s+
            i = whitespaceEnd(k, i)
        }
        return out
    }

    // MARK: Fallback

    static func regexMatches(_ re: NSRegularExpression, in s: [Unicode.Scalar]) -> [Range<Int>] {
        var text = String.UnicodeScalarView()
        text.append(contentsOf: s)
        let str = String(text)
        // UTF-16 offset → scalar index.
        var utf16ToScalar = [Int](repeating: 0, count: str.utf16.count + 1)
        var u = 0
        for (idx, c) in s.enumerated() {
            let w = c.value > 0xFFFF ? 2 : 1
            for q in 0..<w { utf16ToScalar[u + q] = idx }
            u += w
        }
        utf16ToScalar[u] = s.count
        let ns = NSRange(location: 0, length: u)
        return re.matches(in: str, range: ns).compactMap { m in
            guard m.range.location != NSNotFound, m.range.length > 0 else { return nil }
            return utf16ToScalar[m.range.location]..<utf16ToScalar[m.range.location + m.range.length]
        }
    }
}

/// How a split treats the matched delimiters (HF's SplitDelimiterBehavior).
enum SplitBehavior: String {
    case removed = "Removed", isolated = "Isolated", mergedWithPrevious = "MergedWithPrevious"
    case mergedWithNext = "MergedWithNext", contiguous = "Contiguous"

    /// Cuts `s` into pieces given the matched ranges; empty pieces are dropped.
    func apply(_ s: [Unicode.Scalar], matches: [Range<Int>], invert: Bool = false) -> [[Unicode.Scalar]] {
        // All spans in order, each flagged as delimiter or not.
        var spans: [(Range<Int>, Bool)] = []
        var pos = 0
        for m in matches {
            if m.lowerBound > pos { spans.append((pos..<m.lowerBound, invert)) }
            spans.append((m, !invert))
            pos = m.upperBound
        }
        if pos < s.count { spans.append((pos..<s.count, invert)) }
        var out: [Range<Int>] = []
        switch self {
        case .removed:
            out = spans.filter { !$0.1 }.map { $0.0 }
        case .isolated:
            out = spans.map { $0.0 }
        case .contiguous:
            // Neighbouring spans of the same kind merge (with `invert`, adjacent non-delimiters too).
            var prevDelim = false
            for (r, d) in spans {
                if d == prevDelim, let last = out.last { out[out.count - 1] = last.lowerBound..<r.upperBound } else { out.append(r) }
                prevDelim = d
            }
        case .mergedWithPrevious:
            var prevDelim = true
            for (r, d) in spans {
                if d && !prevDelim, let last = out.last { out[out.count - 1] = last.lowerBound..<r.upperBound } else { out.append(r) }
                prevDelim = d
            }
        case .mergedWithNext:
            var pendingStart: Int? = nil
            for (r, d) in spans {
                if d {
                    if let p = pendingStart { out.append(p..<r.lowerBound) }
                    pendingStart = r.lowerBound
                } else {
                    out.append((pendingStart ?? r.lowerBound)..<r.upperBound)
                    pendingStart = nil
                }
            }
            if let p = pendingStart { out.append(p..<s.count) }
        }
        return out.filter { !$0.isEmpty }.map { Array(s[$0]) }
    }
}
