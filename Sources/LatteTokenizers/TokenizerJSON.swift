import Foundation

/// Typed access to a parsed JSON document; every mismatch throws with the file and the JSON path.
struct JSONReader {
    let file: String

    func fail(_ path: String, _ message: String) -> TokenizerError {
        TokenizerError(file: file, "\(path): \(message)")
    }

    func isNull(_ v: JSONValue?) -> Bool {
        guard let v else { return true }
        if case .null = v { return true }
        return false
    }

    func object(_ v: JSONValue?, _ path: String) throws -> JSONObject {
        guard case .object(let o)? = v else { throw fail(path, isNull(v) ? "missing" : "expected an object") }
        return o
    }

    func array(_ v: JSONValue?, _ path: String) throws -> [JSONValue] {
        guard case .array(let a)? = v else { throw fail(path, isNull(v) ? "missing" : "expected an array") }
        return a
    }

    func string(_ v: JSONValue?, _ path: String) throws -> String {
        guard case .string(let s)? = v else { throw fail(path, isNull(v) ? "missing" : "expected a string") }
        return s
    }

    func optionalString(_ v: JSONValue?, _ path: String) throws -> String? {
        isNull(v) ? nil : try string(v, path)
    }

    func bool(_ v: JSONValue?, _ path: String, default d: Bool) throws -> Bool {
        if isNull(v) { return d }
        guard case .bool(let b)? = v else { throw fail(path, "expected a boolean") }
        return b
    }

    func int(_ v: JSONValue?, _ path: String, default d: Int? = nil, range: ClosedRange<Int>) throws -> Int {
        if isNull(v), let d { return d }
        guard case .number(let n)? = v else { throw fail(path, isNull(v) ? "missing" : "expected an integer") }
        guard n.rounded() == n, n >= Double(range.lowerBound), n <= Double(range.upperBound) else {
            throw fail(path, "\(n) is not an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return Int(n)
    }

    func scalar(_ v: JSONValue?, _ path: String) throws -> Unicode.Scalar {
        let s = try string(v, path)
        guard s.unicodeScalars.count == 1, let c = s.unicodeScalars.first else { throw fail(path, "expected one character") }
        return c
    }
}

/// The largest id or count any field may hold; vocabularies in use are far below it.
private let maxTokenID = 1 << 24
/// tokenizer.json files above this are refused before parsing (the largest real ones are ~20 MB).
private let maxJSONBytes = 512 << 20

extension Tokenizer {
    /// Parses a HF `tokenizer.json`. `file` names it in errors.
    public convenience init(jsonData data: Data, file: String) throws {
        guard data.count <= maxJSONBytes else {
            throw TokenizerError(file: file, "\(data.count) bytes is larger than any tokenizer.json (limit \(maxJSONBytes))")
        }
        let root: JSONValue
        do {
            root = try data.withUnsafeBytes { try JSONParser.parse($0.bindMemory(to: UInt8.self)) }
        } catch {
            throw TokenizerError(file: file, "not a tokenizer.json: \(error)")
        }
        let r = JSONReader(file: file)
        let top = try r.object(root, "$")
        let addedTokens = try Tokenizer.parseAddedTokens(top["added_tokens"], r)
        let normalizer = try r.isNull(top["normalizer"]) ? nil : Tokenizer.parseNormalizer(top["normalizer"], "$.normalizer", r)
        let pre = try r.isNull(top["pre_tokenizer"]) ? nil : Tokenizer.parsePreTokenizer(top["pre_tokenizer"], "$.pre_tokenizer", r)
        let post = try r.isNull(top["post_processor"]) ? nil
            : Tokenizer.parsePostProcessor(top["post_processor"], "$.post_processor", r, addedTokens: addedTokens)
        let decoder = try r.isNull(top["decoder"]) ? nil : Tokenizer.parseDecoder(top["decoder"], "$.decoder", r)
        let model = try Tokenizer.parseModel(top["model"], r)
        try self.init(model: model, normalizer: normalizer, preTokenizer: pre, postProcessor: post, decoder: decoder,
                      addedTokens: addedTokens, source: file)
    }

    private static func parseAddedTokens(_ v: JSONValue?, _ r: JSONReader) throws -> [AddedToken] {
        if r.isNull(v) { return [] }
        return try r.array(v, "$.added_tokens").enumerated().map { i, e in
            let p = "$.added_tokens[\(i)]"
            let o = try r.object(e, p)
            let content = try r.string(o["content"], p + ".content")
            guard !content.isEmpty else { throw r.fail(p + ".content", "empty added token") }
            let special = try r.bool(o["special"], p + ".special", default: false)
            return AddedToken(
                id: try r.int(o["id"], p + ".id", range: 0...maxTokenID), content: content, special: special,
                singleWord: try r.bool(o["single_word"], p + ".single_word", default: false),
                lstrip: try r.bool(o["lstrip"], p + ".lstrip", default: false),
                rstrip: try r.bool(o["rstrip"], p + ".rstrip", default: false),
                normalized: try r.bool(o["normalized"], p + ".normalized", default: !special))
        }
    }

    private static func pattern(_ v: JSONValue?, _ path: String, _ r: JSONReader) throws -> SplitPattern {
        let o = try r.object(v, path)
        if let s = o["String"] {
            let lit = Array(try r.string(s, path + ".String").unicodeScalars)
            guard !lit.isEmpty else { throw r.fail(path + ".String", "empty pattern") }
            return .literal(lit)
        }
        if let s = o["Regex"] {
            let src = try r.string(s, path + ".Regex")
            do { return try SplitPattern.fromRegex(src) } catch {
                throw r.fail(path + ".Regex", "unsupported regular expression '\(src)': \(error.localizedDescription)")
            }
        }
        throw r.fail(path, "expected {\"String\": …} or {\"Regex\": …}")
    }

    private static func type(_ o: JSONObject, _ path: String, _ r: JSONReader) throws -> String {
        try r.string(o["type"], path + ".type")
    }

    static func parseNormalizer(_ v: JSONValue?, _ path: String, _ r: JSONReader, depth: Int = 0) throws -> Normalizer {
        guard depth < 16 else { throw r.fail(path, "nested too deeply") }
        let o = try r.object(v, path)
        switch try type(o, path, r) {
        case "NFC": return .nfc
        case "NFD": return .nfd
        case "NFKC": return .nfkc
        case "NFKD": return .nfkd
        case "Lowercase": return .lowercase
        case "StripAccents": return .stripAccents
        case "BertNormalizer":
            let lower = try r.bool(o["lowercase"], path + ".lowercase", default: true)
            return .bert(cleanText: try r.bool(o["clean_text"], path + ".clean_text", default: true),
                         handleChineseChars: try r.bool(o["handle_chinese_chars"], path + ".handle_chinese_chars", default: true),
                         stripAccents: try r.bool(o["strip_accents"], path + ".strip_accents", default: lower),
                         lowercase: lower)
        case "Replace":
            return .replace(try pattern(o["pattern"], path + ".pattern", r),
                            with: Array(try r.string(o["content"], path + ".content").unicodeScalars))
        case "Prepend":
            return .prepend(Array(try r.string(o["prepend"], path + ".prepend").unicodeScalars))
        case "Strip":
            return .strip(left: try r.bool(o["strip_left"], path + ".strip_left", default: true),
                          right: try r.bool(o["strip_right"], path + ".strip_right", default: true))
        case "Sequence":
            let list = try r.array(o["normalizers"], path + ".normalizers")
            return .sequence(try list.enumerated().map { try parseNormalizer($1, "\(path).normalizers[\($0)]", r, depth: depth + 1) })
        case let t:
            throw r.fail(path + ".type", "unsupported normalizer '\(t)'")
        }
    }

    static func parsePreTokenizer(_ v: JSONValue?, _ path: String, _ r: JSONReader, depth: Int = 0) throws -> PreTokenizer {
        guard depth < 16 else { throw r.fail(path, "nested too deeply") }
        let o = try r.object(v, path)
        switch try type(o, path, r) {
        case "ByteLevel":
            return .byteLevel(addPrefixSpace: try r.bool(o["add_prefix_space"], path + ".add_prefix_space", default: true),
                              useRegex: try r.bool(o["use_regex"], path + ".use_regex", default: true))
        case "BertPreTokenizer": return .bert
        case "Whitespace": return .whitespace
        case "WhitespaceSplit": return .whitespaceSplit
        case "Punctuation": return .punctuation(try behavior(o["behavior"], path + ".behavior", r, default: .isolated))
        case "Digits": return .digits(individual: try r.bool(o["individual_digits"], path + ".individual_digits", default: false))
        case "Split":
            return .split(try pattern(o["pattern"], path + ".pattern", r),
                          try behavior(o["behavior"], path + ".behavior", r, default: nil),
                          invert: try r.bool(o["invert"], path + ".invert", default: false))
        case "Metaspace":
            let replacement = try r.scalar(o["replacement"], path + ".replacement")
            let scheme: PreTokenizer.MetaspacePrepend
            if let s = try r.optionalString(o["prepend_scheme"], path + ".prepend_scheme") {
                guard let p = PreTokenizer.MetaspacePrepend(rawValue: s) else {
                    throw r.fail(path + ".prepend_scheme", "unknown scheme '\(s)'")
                }
                scheme = p
            } else {
                scheme = try r.bool(o["add_prefix_space"], path + ".add_prefix_space", default: true) ? .always : .never
            }
            return .metaspace(replacement: replacement, prepend: scheme,
                              split: try r.bool(o["split"], path + ".split", default: true))
        case "Sequence":
            let list = try r.array(o["pretokenizers"], path + ".pretokenizers")
            return .sequence(try list.enumerated().map { try parsePreTokenizer($1, "\(path).pretokenizers[\($0)]", r, depth: depth + 1) })
        case let t:
            throw r.fail(path + ".type", "unsupported pre-tokenizer '\(t)'")
        }
    }

    private static func behavior(_ v: JSONValue?, _ path: String, _ r: JSONReader, default d: SplitBehavior?) throws -> SplitBehavior {
        if r.isNull(v), let d { return d }
        let s = try r.string(v, path)
        guard let b = SplitBehavior(rawValue: s) else { throw r.fail(path, "unknown split behavior '\(s)'") }
        return b
    }

    static func parsePostProcessor(_ v: JSONValue?, _ path: String, _ r: JSONReader, addedTokens: [AddedToken],
                                   depth: Int = 0) throws -> PostProcessor {
        guard depth < 16 else { throw r.fail(path, "nested too deeply") }
        let o = try r.object(v, path)
        func pair(_ key: String) throws -> Int {
            let a = try r.array(o[key], path + "." + key)
            guard a.count == 2 else { throw r.fail(path + "." + key, "expected [token, id]") }
            return try r.int(a[1], path + "." + key + "[1]", range: 0...maxTokenID)
        }
        switch try type(o, path, r) {
        case "TemplateProcessing":
            let specials = try r.object(o["special_tokens"], path + ".special_tokens")
            var prefix: [Int] = [], suffix: [Int] = []
            var seenSequence = false
            for (i, item) in try r.array(o["single"], path + ".single").enumerated() {
                let p = "\(path).single[\(i)]"
                let io = try r.object(item, p)
                if io["Sequence"] != nil {
                    guard !seenSequence else { throw r.fail(p, "more than one sequence in the single template") }
                    seenSequence = true
                } else if let st = io["SpecialToken"] {
                    let name = try r.string(try r.object(st, p + ".SpecialToken")["id"], p + ".SpecialToken.id")
                    let spec = try r.object(specials[name], "\(path).special_tokens[\"\(name)\"]")
                    let ids = try r.array(spec["ids"], "\(path).special_tokens[\"\(name)\"].ids").enumerated().map {
                        try r.int($1, "\(path).special_tokens[\"\(name)\"].ids[\($0)]", range: 0...maxTokenID)
                    }
                    if seenSequence { suffix += ids } else { prefix += ids }
                } else {
                    throw r.fail(p, "expected Sequence or SpecialToken")
                }
            }
            guard seenSequence else { throw r.fail(path + ".single", "the template has no $A sequence") }
            return .template(prefix: prefix, suffix: suffix)
        case "BertProcessing", "RobertaProcessing":
            return .wrap(first: try pair("cls"), last: try pair("sep"))
        case "ByteLevel":
            return PostProcessor.none
        case "Sequence":
            let list = try r.array(o["processors"], path + ".processors")
            return .sequence(try list.enumerated().map {
                try parsePostProcessor($1, "\(path).processors[\($0)]", r, addedTokens: addedTokens, depth: depth + 1)
            })
        case let t:
            throw r.fail(path + ".type", "unsupported post-processor '\(t)'")
        }
    }

    static func parseDecoder(_ v: JSONValue?, _ path: String, _ r: JSONReader, depth: Int = 0) throws -> TokenDecoder {
        guard depth < 16 else { throw r.fail(path, "nested too deeply") }
        let o = try r.object(v, path)
        switch try type(o, path, r) {
        case "ByteLevel": return .byteLevel
        case "WordPiece":
            return .wordPiece(prefix: try r.optionalString(o["prefix"], path + ".prefix") ?? "##",
                              cleanup: try r.bool(o["cleanup"], path + ".cleanup", default: true))
        case "ByteFallback": return .byteFallback
        case "Fuse": return .fuse
        case "Strip":
            return .strip(content: try r.scalar(o["content"], path + ".content"),
                          start: try r.int(o["start"], path + ".start", default: 0, range: 0...maxTokenID),
                          stop: try r.int(o["stop"], path + ".stop", default: 0, range: 0...maxTokenID))
        case "Replace":
            let po = try r.object(o["pattern"], path + ".pattern")
            guard let s = po["String"] else { throw r.fail(path + ".pattern", "only String patterns are supported in decoders") }
            return .replace(pattern: try r.string(s, path + ".pattern.String"), content: try r.string(o["content"], path + ".content"))
        case "Metaspace":
            let replacement = try r.scalar(o["replacement"], path + ".replacement")
            var drop = try r.bool(o["add_prefix_space"], path + ".add_prefix_space", default: true)
            if let s = try r.optionalString(o["prepend_scheme"], path + ".prepend_scheme") { drop = s != "never" }
            return .metaspace(replacement: replacement, dropFirstPrefix: drop)
        case "BPEDecoder":
            return .bpeSuffix(try r.optionalString(o["suffix"], path + ".suffix") ?? "</w>")
        case "Sequence":
            let list = try r.array(o["decoders"], path + ".decoders")
            return .sequence(try list.enumerated().map { try parseDecoder($1, "\(path).decoders[\($0)]", r, depth: depth + 1) })
        case let t:
            throw r.fail(path + ".type", "unsupported decoder '\(t)'")
        }
    }

    private static func parseVocabulary(_ v: JSONValue?, _ path: String, _ r: JSONReader) throws -> TokenTable {
        let o = try r.object(v, path)
        guard !o.isEmpty else { throw r.fail(path, "empty vocabulary") }
        var vocab = TokenTable(minimumCapacity: o.count)
        var used = Set<Int>()
        for (tok, idv) in o {
            let id = try r.int(idv, "\(path)[\"\(tok)\"]", range: 0...maxTokenID)
            guard used.insert(id).inserted else { throw r.fail(path, "id \(id) is used by more than one token") }
            // A repeated key: the last one wins, as in HF's map.
            vocab.insert(Array(tok.unicodeScalars), value: id, overwrite: true)
        }
        return vocab
    }

    static func parseModel(_ v: JSONValue?, _ r: JSONReader) throws -> Model {
        let path = "$.model"
        let o = try r.object(v, path)
        // Older files omit the type; the vocabulary shape then tells (merges → BPE).
        let t = try r.optionalString(o["type"], path + ".type") ?? (o["merges"] != nil ? "BPE" : "WordPiece")
        switch t {
        case "BPE":
            let vocab = try parseVocabulary(o["vocab"], path + ".vocab", r)
            var merges: [([Unicode.Scalar], [Unicode.Scalar])] = []
            let list = r.isNull(o["merges"]) ? [] : try r.array(o["merges"], path + ".merges")
            merges.reserveCapacity(list.count)
            for (i, m) in list.enumerated() {
                let p = "\(path).merges[\(i)]"
                if case .string(let s) = m {
                    // "a b": tokens never hold the separating space in BPE vocabularies.
                    guard let sp = s.unicodeScalars.firstIndex(of: " ") else { throw r.fail(p, "'\(s)' is not two tokens 'a b'") }
                    merges.append((Array(s.unicodeScalars[..<sp]), Array(s.unicodeScalars[s.unicodeScalars.index(after: sp)...])))
                } else if case .array(let a) = m {
                    guard a.count == 2 else { throw r.fail(p, "expected two tokens, found \(a.count)") }
                    merges.append((Array(try r.string(a[0], p + "[0]").unicodeScalars), Array(try r.string(a[1], p + "[1]").unicodeScalars)))
                } else {
                    throw r.fail(p, "expected \"a b\" or [\"a\", \"b\"]")
                }
            }
            let model = try BPEModel(
                vocabulary: vocab, merges: merges,
                unknownToken: try r.optionalString(o["unk_token"], path + ".unk_token"),
                fuseUnknown: try r.bool(o["fuse_unk"], path + ".fuse_unk", default: false),
                byteFallback: try r.bool(o["byte_fallback"], path + ".byte_fallback", default: false),
                ignoreMerges: try r.bool(o["ignore_merges"], path + ".ignore_merges", default: false),
                continuingSubwordPrefix: try r.optionalString(o["continuing_subword_prefix"], path + ".continuing_subword_prefix"),
                endOfWordSuffix: try r.optionalString(o["end_of_word_suffix"], path + ".end_of_word_suffix"),
                file: r.file)
            return .bpe(model)
        case "WordPiece":
            let vocab = try parseVocabulary(o["vocab"], path + ".vocab", r)
            return .wordPiece(try WordPieceModel(
                vocabulary: vocab, unknownToken: try r.optionalString(o["unk_token"], path + ".unk_token") ?? "[UNK]",
                prefix: try r.optionalString(o["continuing_subword_prefix"], path + ".continuing_subword_prefix") ?? "##",
                maxInputCharsPerWord: try r.int(o["max_input_chars_per_word"], path + ".max_input_chars_per_word",
                                                default: 100, range: 1...Int(Int32.max)),
                file: r.file))
        default:
            throw r.fail(path + ".type", "unsupported model '\(t)' (BPE and WordPiece are supported)")
        }
    }
}
