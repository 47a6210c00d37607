import Foundation

/// A text tokenizer: HF `tokenizer.json` pipelines (byte-level BPE, SentencePiece-style BPE, WordPiece) or
/// the byte-level BPE stored in a GGUF file. Encoding is the HF order: added tokens matched in the raw
/// text, normalisation, added tokens matched in the normalised text, pre-tokenisation, the model, and
/// the post-processor's special tokens. Padding and truncation are never applied (callers do that).
public final class Tokenizer {
    enum Model {
        case bpe(BPEModel)
        case wordPiece(WordPieceModel)
    }

    let model: Model
    let normalizer: Normalizer?
    let preTokenizer: PreTokenizer?
    let postProcessor: PostProcessor?
    let decoder: TokenDecoder?
    public let addedTokens: [AddedToken]
    private let rawMatcher: AddedTokenMatcher
    private let normalizedMatcher: AddedTokenMatcher
    /// id → token text (model vocabulary and added tokens); nil where the id is unused.
    private let idToTokenTable: [String?]
    private let tokenToIDTable: TokenTable
    private let specialIDs: Set<Int>
    /// Where the tokenizer was loaded from, for messages.
    public let source: String
    public let bosTokenID: Int?
    public let eosTokenID: Int?
    /// A Jinja chat template carried by the file (GGUF `tokenizer.chat_template`), if any.
    public let chatTemplate: String?

    init(model: Model, normalizer: Normalizer?, preTokenizer: PreTokenizer?, postProcessor: PostProcessor?,
         decoder: TokenDecoder?, addedTokens: [AddedToken], bosTokenID: Int? = nil, eosTokenID: Int? = nil,
         chatTemplate: String? = nil, source: String, tokenStrings: [String]? = nil) throws {
        self.model = model
        self.normalizer = normalizer
        self.preTokenizer = preTokenizer
        self.postProcessor = postProcessor
        self.decoder = decoder
        self.addedTokens = addedTokens
        self.source = source
        self.bosTokenID = bosTokenID
        self.eosTokenID = eosTokenID
        self.chatTemplate = chatTemplate
        rawMatcher = AddedTokenMatcher(tokens: addedTokens.filter { !$0.normalized }, normalize: nil)
        normalizedMatcher = AddedTokenMatcher(tokens: addedTokens.filter { $0.normalized },
                                              normalize: normalizer.map { n in { n.normalize($0) } })
        let vocabulary: TokenTable
        switch model {
        case .bpe(let m): vocabulary = m.vocabulary
        case .wordPiece(let m): vocabulary = m.vocabulary
        }
        var toID = vocabulary
        for t in addedTokens { toID.insert(Array(t.content.unicodeScalars), value: t.id, overwrite: true) }
        tokenToIDTable = toID
        let entries = vocabulary.count + addedTokens.count
        let maxID = max(vocabulary.values.max() ?? -1, addedTokens.map(\.id).max() ?? -1)
        let minID = min(vocabulary.values.min() ?? 0, addedTokens.map(\.id).min() ?? 0)
        // Ids index a dense table: refuse sparse or negative ids rather than allocate by them.
        guard minID >= 0, maxID < 2 * entries + 1024 else {
            throw TokenizerError(file: source, "token id \(minID < 0 ? minID : maxID) is out of range for \(entries) tokens")
        }
        var table = [String?](repeating: nil, count: maxID + 1)
        if let tokenStrings, tokenStrings.count == table.count {
            // GGUF: the id-ordered token list is already at hand.
            for (id, t) in tokenStrings.enumerated() { table[id] = t }
        } else {
            for e in 0..<vocabulary.count { table[vocabulary.values[e]] = vocabulary.keyString(e) }
        }
        for t in addedTokens {
            // HF decodes a normalised added token as its normalised content ("Héllo" → "héllo").
            if t.normalized, let normalizer {
                table[t.id] = String(String.UnicodeScalarView(normalizer.normalize(Array(t.content.unicodeScalars))))
            } else {
                table[t.id] = t.content
            }
        }
        idToTokenTable = table
        specialIDs = Set(addedTokens.filter(\.special).map(\.id))
    }

    /// Size of the id space (largest id + 1).
    public var vocabularySize: Int { idToTokenTable.count }

    public func tokenToID(_ token: String) -> Int? { tokenToIDTable[Array(token.unicodeScalars)] }

    public func idToToken(_ id: Int) -> String? {
        id >= 0 && id < idToTokenTable.count ? idToTokenTable[id] : nil
    }

    /// Token ids of `text`; `addSpecialTokens` applies the post-processor (e.g. `[CLS] … [SEP]`).
    public func encode(_ text: String, addSpecialTokens: Bool = true) -> [Int] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int] = []
        ids.reserveCapacity(scalars.count / 3 + 4)
        for segment in rawMatcher.split(scalars) {
            switch segment {
            case .token(let id): ids.append(id)
            case .text(let range):
                let piece = Array(scalars[range])
                let normalized = normalizer?.normalize(piece) ?? piece
                for inner in normalizedMatcher.split(normalized) {
                    switch inner {
                    case .token(let id): ids.append(id)
                    case .text(let r):
                        encodeWords(Array(normalized[r]), isFirst: range.lowerBound == 0 && r.lowerBound == 0, into: &ids)
                    }
                }
            }
        }
        if addSpecialTokens, let p = postProcessor { ids = p.process(ids) }
        return ids
    }

    private func encodeWords(_ piece: [Unicode.Scalar], isFirst: Bool, into ids: inout [Int]) {
        if piece.isEmpty { return }
        switch model {
        case .bpe(let m):
            if let preTokenizer {
                preTokenizer.forEachWord(piece, isFirst: isFirst) { m.tokenize($0, into: &ids) }
            } else {
                piece.withUnsafeBufferPointer { m.tokenize($0, into: &ids) }
            }
        case .wordPiece(let m):
            if let preTokenizer {
                preTokenizer.forEachWord(piece, isFirst: isFirst) { m.tokenize($0, into: &ids) }
            } else {
                piece.withUnsafeBufferPointer { m.tokenize($0, into: &ids) }
            }
        }
    }

    /// The text of `ids`; unknown ids are ignored, special tokens dropped when `skipSpecialTokens`.
    public func decode(_ ids: [Int], skipSpecialTokens: Bool = false) -> String {
        var tokens: [String] = []
        tokens.reserveCapacity(ids.count)
        for id in ids {
            guard let t = idToToken(id) else { continue }
            if skipSpecialTokens && specialIDs.contains(id) { continue }
            tokens.append(t)
        }
        guard let decoder else { return tokens.joined(separator: " ") }
        return decoder.decodeChain(tokens).joined()
    }

    /// Loads a `tokenizer.json` or a GGUF file (recognised by its magic).
    public static func load(contentsOf url: URL) throws -> Tokenizer {
        let name = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .alwaysMapped)
        } catch {
            throw TokenizerError(file: name, "cannot read: \(error.localizedDescription)")
        }
        if data.count >= 4 && data.prefix(4).elementsEqual("GGUF".utf8) {
            return try fromGGUF(GGUFVocabulary(data: data, file: name), file: name)
        }
        return try Tokenizer(jsonData: data, file: name)
    }
}

/// Safe to share across threads: everything is immutable after loading except the BPE word cache, which
/// is behind a lock.
extension Tokenizer: @unchecked Sendable {}

/// `BPETokenizer.fromGGUF(…)` reads as what it builds.
public typealias BPETokenizer = Tokenizer
