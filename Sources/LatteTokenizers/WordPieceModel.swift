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

    func tokenize(_ word: UnsafeBufferPointer<Unicode.Scalar>, into out: inout [Int]) {
        if word.isEmpty { return }
        if word.count > maxInputCharsPerWord { out.append(unknownID); return }
        let mark = out.count
        var start = 0
        while start < word.count {
            var end = word.count
            var found = -1
            while start < end {
                let piece = UnsafeBufferPointer(rebasing: word[start..<end])
                if let id = start > 0 ? vocabulary.lookup(prefix, piece) : vocabulary.lookup(piece) { found = id; break }
                end -= 1
            }
            if found < 0 {
                out.removeSubrange(mark...)
                out.append(unknownID)
                return
            }
            out.append(found)
            start = end
        }
    }
}
