import Foundation

/// Byte-pair encoding with merge ranks (GPT-2 byte-level, SentencePiece-style with byte fallback).
/// Words are merged on token ids: a pair (left, right) maps to (rank, merged id), lowest rank first,
/// leftmost first among equal ranks, exactly as HF `tokenizers`' priority queue does.
final class BPEModel {
    let vocabulary: TokenTable
    /// (left << 32 | right) → (rank << 32 | merged id).
    private let merges: MergeTable
    let unknownID: Int?
    let fuseUnknown: Bool
    let byteFallback: Bool
    let ignoreMerges: Bool
    let continuingSubwordPrefix: [Unicode.Scalar]?
    let endOfWordSuffix: [Unicode.Scalar]?
    /// Ids of one-scalar tokens for scalars below U+0200 (covers the byte-level alphabet); -1 if absent.
    private var smallScalarIDs = [Int](repeating: -1, count: 0x200)
    /// `<0xAB>` token ids for byte fallback; -1 if absent.
    private var byteTokenIDs = [Int](repeating: -1, count: 256)

    /// Word → (start << 24 | count) in `cacheIDs`. Only words up to `cachedWordLimit` scalars are kept.
    private var cache = TokenTable(minimumCapacity: 1 << 14)
    private var cacheIDs: [Int32] = []
    private let cacheLock = NSLock()
    private static let cacheLimit = 200_000
    private static let cachedWordLimit = 256

    /// `merges` are pairs of token strings, in rank order. Throws if a merge names an unknown token.
    init(vocabulary: TokenTable, merges: [([Unicode.Scalar], [Unicode.Scalar])], unknownToken: String?,
         fuseUnknown: Bool, byteFallback: Bool, ignoreMerges: Bool, continuingSubwordPrefix: String?,
         endOfWordSuffix: String?, file: String) throws {
        self.vocabulary = vocabulary
        self.fuseUnknown = fuseUnknown
        self.byteFallback = byteFallback
        self.ignoreMerges = ignoreMerges
        self.continuingSubwordPrefix = continuingSubwordPrefix.map { Array($0.unicodeScalars) }
        self.endOfWordSuffix = endOfWordSuffix.map { Array($0.unicodeScalars) }
        if let unk = unknownToken {
            guard let id = vocabulary[Array(unk.unicodeScalars)] else {
                throw TokenizerError(file: file, "BPE unk_token '\(unk)' is not in the vocabulary")
            }
            unknownID = id
        } else {
            unknownID = nil
        }
        let prefixCount = self.continuingSubwordPrefix?.count ?? 0
        var table = MergeTable(capacity: merges.count)
        for (rank, (a, b)) in merges.enumerated() {
            guard let ia = vocabulary[a], let ib = vocabulary[b] else {
                let missing = vocabulary[a] == nil ? a : b
                throw TokenizerError(file: file, "merge #\(rank) '\(String(String.UnicodeScalarView(a))) \(String(String.UnicodeScalarView(b)))': "
                    + "token '\(String(String.UnicodeScalarView(missing)))' is not in the vocabulary")
            }
            // With a continuing-subword prefix the right part loses its prefix when merged.
            let merged = prefixCount > 0 && b.starts(with: self.continuingSubwordPrefix!) ? a + b.dropFirst(prefixCount) : a + b
            guard let im = vocabulary[merged] else {
                throw TokenizerError(file: file, "merge #\(rank): merged token '\(String(String.UnicodeScalarView(merged)))' "
                    + "is not in the vocabulary")
            }
            let key = UInt64(ia) << 32 | UInt64(ib)
            table.insertIfAbsent(key, UInt64(rank) << 32 | UInt64(im))
        }
        self.merges = table
        for e in 0..<vocabulary.count {
            let tok = vocabulary.keyScalars(e), id = vocabulary.values[e]
            let t0 = tok.startIndex
            if tok.count == 1 && tok[t0] < 0x200 { smallScalarIDs[Int(tok[t0])] = id }
            // "<0xAB>" with upper-case hex digits, as HF formats byte-fallback tokens.
            if tok.count == 6 && tok[t0] == 0x3C && tok[t0 + 1] == 0x30 && tok[t0 + 2] == 0x78 && tok[t0 + 5] == 0x3E,
               let hi = BPEModel.hexDigit(tok[t0 + 3]), let lo = BPEModel.hexDigit(tok[t0 + 4]) {
                byteTokenIDs[hi << 4 | lo] = id
            }
        }
    }

    private static func hexDigit(_ u: UInt32) -> Int? {
        switch u {
        case 0x30...0x39: return Int(u - 0x30)
        case 0x41...0x46: return Int(u - 0x41 + 10)
        default: return nil
        }
    }

    func tokenize(_ word: [Unicode.Scalar], into out: inout [Int]) {
        if word.isEmpty { return }
        if ignoreMerges, let id = vocabulary[word] { out.append(id); return }
        let cacheable = word.count <= BPEModel.cachedWordLimit
        if cacheable {
            cacheLock.lock()
            if let packed = cache[word] {
                let start = packed >> 24, n = packed & 0xFF_FFFF
                cacheIDs.withUnsafeBufferPointer { c in for k in start..<(start + n) { out.append(Int(c[k])) } }
                cacheLock.unlock()
                return
            }
            cacheLock.unlock()
        }
        let ids = merge(initialSymbols(word))
        out.append(contentsOf: ids)
        guard cacheable else { return }
        cacheLock.lock()
        if cache.count >= BPEModel.cacheLimit {
            cache.removeAll()
            cacheIDs.removeAll(keepingCapacity: true)
        }
        cache.insert(word, value: cacheIDs.count << 24 | ids.count)
        for id in ids { cacheIDs.append(Int32(id)) }
        cacheLock.unlock()
    }

    /// One symbol per scalar (with prefix/suffix when configured), byte fallback or unk for unknown ones.
    private func initialSymbols(_ word: [Unicode.Scalar]) -> [Int] {
        var symbols: [Int] = []
        symbols.reserveCapacity(word.count)
        var pendingUnknown = false
        let plain = continuingSubwordPrefix == nil && endOfWordSuffix == nil
        for (i, c) in word.enumerated() {
            var id = -1
            if plain && c.value < 0x200 {
                id = smallScalarIDs[Int(c.value)]
            } else {
                var s = [c]
                if i > 0, let p = continuingSubwordPrefix { s = p + s }
                if i == word.count - 1, let x = endOfWordSuffix { s += x }
                id = vocabulary[s] ?? -1
            }
            if id >= 0 {
                if pendingUnknown, let unk = unknownID { symbols.append(unk); pendingUnknown = false }
                symbols.append(id)
                continue
            }
            if byteFallback {
                let bytes = Array(String(c).utf8)
                if bytes.allSatisfy({ byteTokenIDs[Int($0)] >= 0 }) {
                    // HF appends the byte tokens without flushing a pending unk first.
                    for b in bytes { symbols.append(byteTokenIDs[Int(b)]) }
                    continue
                }
            }
            if let unk = unknownID {
                if pendingUnknown && !fuseUnknown { symbols.append(unk) }
                pendingUnknown = true
            }
        }
        if pendingUnknown, let unk = unknownID { symbols.append(unk) }
        return symbols
    }

    private func merge(_ start: [Int]) -> [Int] {
        var symbols = start
        if symbols.count < 2 { return symbols }
        // ranks[i] = merge rank/result of (symbols[i], symbols[i+1]), or UInt64.max.
        var ranks = [UInt64](repeating: .max, count: symbols.count - 1)
        for i in 0..<(symbols.count - 1) { ranks[i] = pairRank(symbols[i], symbols[i + 1]) }
        while !ranks.isEmpty {
            var best = 0
            var bestRank = ranks[0]
            for i in 1..<ranks.count where ranks[i] < bestRank { best = i; bestRank = ranks[i] }
            if bestRank == .max { break }
            symbols[best] = Int(bestRank & 0xFFFF_FFFF)
            symbols.remove(at: best + 1)
            ranks.remove(at: best)
            if best < ranks.count { ranks[best] = pairRank(symbols[best], symbols[best + 1]) }
            if best > 0 { ranks[best - 1] = pairRank(symbols[best - 1], symbols[best]) }
        }
        return symbols
    }

    @inline(__always) private func pairRank(_ a: Int, _ b: Int) -> UInt64 {
        merges.get(UInt64(a) << 32 | UInt64(b)) ?? .max
    }
}

/// WordPiece: greedy longest match first, continuation pieces carry `##`; words longer than
/// `maxInputCharsPerWord` scalars, or with an unmatchable remainder, become the unknown token.
final class WordPieceModel {
    let vocabulary: TokenTable
    let unknownID: Int
    let prefix: [Unicode.Scalar]
    let maxInputCharsPerWord: Int

    init(vocabulary: TokenTable, unknownToken: String, prefix: String, maxInputCharsPerWord: Int,
         file: String) throws {
        guard let unk = vocabulary[Array(unknownToken.unicodeScalars)] else {
            throw TokenizerError(file: file, "WordPiece unk_token '\(unknownToken)' is not in the vocabulary")
        }
        self.vocabulary = vocabulary
        self.unknownID = unk
        self.prefix = Array(prefix.unicodeScalars)
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    func tokenize(_ word: [Unicode.Scalar], into out: inout [Int]) {
        if word.isEmpty { return }
        if word.count > maxInputCharsPerWord { out.append(unknownID); return }
        var pieces: [Int] = []
        var start = 0
        while start < word.count {
            var end = word.count
            var found = -1
            while start < end {
                let key = start > 0 ? prefix + word[start..<end] : Array(word[start..<end])
                if let id = vocabulary[key] { found = id; break }
                end -= 1
            }
            if found < 0 { out.append(unknownID); return }
            pieces.append(found)
            start = end
        }
        out.append(contentsOf: pieces)
    }
}
