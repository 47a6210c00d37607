import Foundation

/// Byte-pair encoding with merge ranks (GPT-2 byte-level, SentencePiece-style with byte fallback).
/// Words are merged on token ids: a pair (left, right) maps to (rank, merged id), lowest rank first,
/// leftmost first among equal ranks, exactly as HF `tokenizers`' priority queue does.
final class BPEModel {
    let vocabulary: [[Unicode.Scalar]: Int]
    /// (left << 32 | right) → (rank << 32 | merged id).
    private let merges: [UInt64: UInt64]
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

    private var cache: [[Unicode.Scalar]: [Int]] = [:]
    private let cacheLock = NSLock()
    private static let cacheLimit = 200_000

    /// `merges` are pairs of token strings, in rank order. Throws if a merge names an unknown token.
    init(vocabulary: [[Unicode.Scalar]: Int], merges: [([Unicode.Scalar], [Unicode.Scalar])], unknownToken: String?,
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
        var table: [UInt64: UInt64] = [:]
        table.reserveCapacity(merges.count)
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
            if table[key] == nil { table[key] = UInt64(rank) << 32 | UInt64(im) }
        }
        self.merges = table
        for (tok, id) in vocabulary {
            if tok.count == 1 && tok[0].value < 0x200 { smallScalarIDs[Int(tok[0].value)] = id }
            if tok.count == 6 && tok[0] == "<" && tok[1] == "0" && tok[2] == "x" && tok[5] == ">",
               let b = UInt8(String(String.UnicodeScalarView(tok[3...4])), radix: 16),
               String(String.UnicodeScalarView(tok)) == String(format: "<0x%02X>", b) {
                byteTokenIDs[Int(b)] = id
            }
        }
    }

    func tokenize(_ word: [Unicode.Scalar], into out: inout [Int]) {
        if word.isEmpty { return }
        if ignoreMerges, let id = vocabulary[word] { out.append(id); return }
        cacheLock.lock()
        let hit = cache[word]
        cacheLock.unlock()
        if let hit { out.append(contentsOf: hit); return }
        let ids = merge(initialSymbols(word))
        cacheLock.lock()
        if cache.count >= BPEModel.cacheLimit { cache.removeAll(keepingCapacity: true) }
        cache[word] = ids
        cacheLock.unlock()
        out.append(contentsOf: ids)
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
        merges[UInt64(a) << 32 | UInt64(b)] ?? .max
    }
}

/// WordPiece: greedy longest match first, continuation pieces carry `##`; words longer than
/// `maxInputCharsPerWord` scalars, or with an unmatchable remainder, become the unknown token.
final class WordPieceModel {
    let vocabulary: [[Unicode.Scalar]: Int]
    let unknownID: Int
    let prefix: [Unicode.Scalar]
    let maxInputCharsPerWord: Int

    init(vocabulary: [[Unicode.Scalar]: Int], unknownToken: String, prefix: String, maxInputCharsPerWord: Int,
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
