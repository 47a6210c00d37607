import Foundation

/// The tokenizer fields of a GGUF file's metadata (`tokenizer.ggml.*`), read without touching tensors.
///
/// A minimal, bounds-checked reader of GGUF v2/v3 metadata: strings, integers, booleans and arrays of
/// them are decoded for the keys below, every other value is skipped by its declared size. The full
/// GGUF reader lives in LatteFormats; this one keeps LatteTokenizers free of dependencies, and
/// LatteFormats may hand its parsed values to `Tokenizer.fromGGUF(tokens:merges:…)` instead.
public struct GGUFVocabulary {
    public var model: String?
    public var pre: String?
    public var tokens: [String] = []
    public var merges: [String] = []
    public var tokenTypes: [Int32] = []
    public var bosID: Int?
    public var eosID: Int?
    public var addBOS: Bool?
    public var addEOS: Bool?
    public var chatTemplate: String?

    /// Declared element counts above this are refused (no GGUF vocabulary comes close).
    static let maxArrayCount = 1 << 24

    public init(data: Data, file: String) throws {
        self = try data.withUnsafeBytes { raw -> GGUFVocabulary in
            var reader = Reader(bytes: raw, file: file)
            return try reader.readVocabulary()
        }
    }

    public init(contentsOf url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw TokenizerError(file: url.path, "cannot read: \(error.localizedDescription)")
        }
        try self.init(data: data, file: url.path)
    }

    init() {}

    private struct Reader {
        let bytes: UnsafeRawBufferPointer
        let file: String
        var offset = 0

        init(bytes: UnsafeRawBufferPointer, file: String) {
            self.bytes = bytes
            self.file = file
        }

        func fail(_ message: String) -> TokenizerError {
            TokenizerError(file: file, "GGUF metadata at byte \(offset): \(message)")
        }

        var remaining: Int { bytes.count - offset }

        mutating func need(_ n: Int) throws {
            guard n >= 0, n <= remaining else { throw fail("truncated (needs \(n) bytes, \(remaining) left)") }
        }

        mutating func u32() throws -> UInt32 {
            try need(4)
            defer { offset += 4 }
            return UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
        }

        mutating func u64() throws -> UInt64 {
            try need(8)
            defer { offset += 8 }
            return UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
        }

        mutating func count(_ what: String, minElementSize: Int) throws -> Int {
            let n = try u64()
            guard n <= UInt64(GGUFVocabulary.maxArrayCount), Int(n) * minElementSize <= remaining else {
                throw fail("\(what) declares \(n) elements, more than the file can hold")
            }
            return Int(n)
        }

        mutating func string() throws -> String {
            let n = try u64()
            guard n <= UInt64(remaining) else { throw fail("string of \(n) bytes runs past the end of the file") }
            let len = Int(n)
            defer { offset += len }
            return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + len)]), as: UTF8.self)
        }

        static func fixedSize(_ type: UInt32) -> Int? {
            switch type {
            case 0, 1, 7: return 1
            case 2, 3: return 2
            case 4, 5, 6: return 4
            case 10, 11, 12: return 8
            default: return nil
            }
        }

        /// An integer of any GGUF integer type (or a bool), as Int64.
        mutating func integer(type: UInt32) throws -> Int64 {
            guard let size = Reader.fixedSize(type), type != 6, type != 12 else { throw fail("expected an integer, found type \(type)") }
            try need(size)
            defer { offset += size }
            switch type {
            case 0, 7: return Int64(bytes[offset])
            case 1: return Int64(Int8(bitPattern: bytes[offset]))
            case 2: return Int64(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
            case 3: return Int64(Int16(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int16.self)))
            case 4: return Int64(UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            case 5: return Int64(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int32.self)))
            case 10:
                let v = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
                guard v <= UInt64(Int64.max) else { throw fail("integer \(v) out of range") }
                return Int64(v)
            default: return Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: offset, as: Int64.self))
            }
        }

        mutating func skip(type: UInt32, depth: Int = 0) throws {
            if let size = Reader.fixedSize(type) { try need(size); offset += size; return }
            switch type {
            case 8: _ = try string()
            case 9:
                guard depth < 4 else { throw fail("arrays nested too deeply") }
                let elementType = try u32()
                let n = try count("array", minElementSize: Reader.fixedSize(elementType) ?? 8)
                if let size = Reader.fixedSize(elementType) {
                    try need(n * size)
                    offset += n * size
                } else {
                    for _ in 0..<n { try skip(type: elementType, depth: depth + 1) }
                }
            default: throw fail("unknown value type \(type)")
            }
        }

        mutating func stringArray(_ key: String) throws -> [String] {
            let elementType = try u32()
            guard elementType == 8 else { throw fail("\(key) should be an array of strings, has element type \(elementType)") }
            let n = try count(key, minElementSize: 8)
            var out: [String] = []
            out.reserveCapacity(n)
            for _ in 0..<n { out.append(try string()) }
            return out
        }

        mutating func int32Array(_ key: String) throws -> [Int32] {
            let elementType = try u32()
            guard let size = Reader.fixedSize(elementType), elementType != 6, elementType != 12 else {
                throw fail("\(key) should be an array of integers, has element type \(elementType)")
            }
            let n = try count(key, minElementSize: size)
            var out: [Int32] = []
            out.reserveCapacity(n)
            for _ in 0..<n {
                let v = try integer(type: elementType)
                guard let v32 = Int32(exactly: v) else { throw fail("\(key) value \(v) out of range") }
                out.append(v32)
            }
            return out
        }

        mutating func readVocabulary() throws -> GGUFVocabulary {
            try need(4)
            guard bytes[0] == 0x47, bytes[1] == 0x47, bytes[2] == 0x55, bytes[3] == 0x46 else { throw fail("not a GGUF file (bad magic)") }
            offset = 4
            let version = try u32()
            guard version == 2 || version == 3 else { throw fail("unsupported GGUF version \(version)") }
            _ = try u64()  // tensor count: not needed here
            // A key-value pair takes at least 8 (key length) + 4 (type) + 1 bytes.
            let kvCount = try count("metadata", minElementSize: 13)
            var v = GGUFVocabulary()
            for _ in 0..<kvCount {
                let key = try string()
                let type = try u32()
                func expect(_ t: UInt32) throws {
                    guard type == t else { throw fail("\(key) has type \(type), expected \(t)") }
                }
                switch key {
                case "tokenizer.ggml.model": try expect(8); v.model = try string()
                case "tokenizer.ggml.pre": try expect(8); v.pre = try string()
                case "tokenizer.chat_template": try expect(8); v.chatTemplate = try string()
                case "tokenizer.ggml.tokens": try expect(9); v.tokens = try stringArray(key)
                case "tokenizer.ggml.merges": try expect(9); v.merges = try stringArray(key)
                case "tokenizer.ggml.token_type": try expect(9); v.tokenTypes = try int32Array(key)
                case "tokenizer.ggml.bos_token_id": v.bosID = Int(try integer(type: type))
                case "tokenizer.ggml.eos_token_id": v.eosID = Int(try integer(type: type))
                case "tokenizer.ggml.add_bos_token": try expect(7); v.addBOS = try integer(type: type) != 0
                case "tokenizer.ggml.add_eos_token": try expect(7); v.addEOS = try integer(type: type) != 0
                default: try skip(type: type)
                }
            }
            return v
        }
    }
}

extension Tokenizer {
    /// llama.cpp token types (`tokenizer.ggml.token_type`).
    public enum GGUFTokenType: Int32 {
        case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
    }

    /// The byte-level BPE of a GGUF file from its `tokenizer.ggml.*` values. Control tokens become
    /// special added tokens and user-defined ones plain added tokens (both matched in raw text, as
    /// llama.cpp does). `pre` picks the split: "smollm" splits every digit on its own before the GPT-2
    /// split; "gpt2"/"default" is the GPT-2 split; "qwen2" and "llama-bpe" the Qwen2 and Llama-3 ones.
    public static func fromGGUF(tokens: [String], merges: [String], tokenTypes: [Int32], bosID: Int?, eosID: Int?,
                                pre: String, addBOS: Bool, addEOS: Bool = false, chatTemplate: String? = nil,
                                file: String = "GGUF") throws -> Tokenizer {
        guard !tokens.isEmpty else { throw TokenizerError(file: file, "tokenizer.ggml.tokens is empty") }
        guard tokenTypes.isEmpty || tokenTypes.count == tokens.count else {
            throw TokenizerError(file: file, "tokenizer.ggml.token_type has \(tokenTypes.count) entries for \(tokens.count) tokens")
        }
        for (name, id) in [("bos", bosID), ("eos", eosID)] {
            if let id, id < 0 || id >= tokens.count {
                throw TokenizerError(file: file, "\(name) token id \(id) is outside the \(tokens.count)-token vocabulary")
            }
        }
        var vocab = TokenTable(minimumCapacity: tokens.count)
        var added: [AddedToken] = []
        for (id, t) in tokens.enumerated() {
            let key = Array(t.unicodeScalars)
            // Duplicates exist in some GGUF vocabularies; the first id wins, as in llama.cpp's map.
            vocab.insert(key, value: id)
            let type = tokenTypes.isEmpty ? 1 : tokenTypes[id]
            if (type == GGUFTokenType.control.rawValue || type == GGUFTokenType.userDefined.rawValue) && !t.isEmpty {
                added.append(AddedToken(id: id, content: t, special: type == GGUFTokenType.control.rawValue, normalized: false))
            }
        }
        var pairs: [([Unicode.Scalar], [Unicode.Scalar])] = []
        pairs.reserveCapacity(merges.count)
        for (i, m) in merges.enumerated() {
            let s = m.unicodeScalars
            guard let sp = s.firstIndex(of: " ") else {
                throw TokenizerError(file: file, "tokenizer.ggml.merges[\(i)] '\(m)' is not two tokens 'a b'")
            }
            pairs.append((Array(s[..<sp]), Array(s[s.index(after: sp)...])))
        }
        let model = try BPEModel(vocabulary: vocab, merges: pairs, unknownToken: nil, fuseUnknown: false,
                                 byteFallback: false, ignoreMerges: false, continuingSubwordPrefix: nil,
                                 endOfWordSuffix: nil, file: file)
        let byteLevel = PreTokenizer.byteLevel(addPrefixSpace: false, useRegex: false)
        let preTokenizer: PreTokenizer
        switch pre {
        case "smollm":
            preTokenizer = .sequence([.digits(individual: true), .byteLevel(addPrefixSpace: false, useRegex: true)])
        case "gpt2", "default", "gpt-2", "":
            preTokenizer = .byteLevel(addPrefixSpace: false, useRegex: true)
        case "qwen2":
            preTokenizer = .sequence([.split(.qwen2(maxDigits: 1), .isolated, invert: false), byteLevel])
        case "llama-bpe", "llama3":
            preTokenizer = .sequence([.split(.qwen2(maxDigits: 3), .isolated, invert: false), byteLevel])
        default:
            throw TokenizerError(file: file, "unsupported tokenizer.ggml.pre '\(pre)' (smollm, gpt2, qwen2, llama-bpe are supported)")
        }
        var prefix: [Int] = [], suffix: [Int] = []
        if addBOS {
            guard let bosID else { throw TokenizerError(file: file, "add_bos_token is set but there is no bos_token_id") }
            prefix = [bosID]
        }
        if addEOS {
            guard let eosID else { throw TokenizerError(file: file, "add_eos_token is set but there is no eos_token_id") }
            suffix = [eosID]
        }
        return try Tokenizer(model: .bpe(model), normalizer: nil, preTokenizer: preTokenizer,
                             postProcessor: .template(prefix: prefix, suffix: suffix), decoder: .byteLevel,
                             addedTokens: added, bosTokenID: bosID, eosTokenID: eosID, chatTemplate: chatTemplate,
                             source: file)
    }

    /// The tokenizer of a GGUF file's parsed metadata.
    public static func fromGGUF(_ v: GGUFVocabulary, file: String) throws -> Tokenizer {
        guard v.model == nil || v.model == "gpt2" else {
            throw TokenizerError(file: file, "tokenizer.ggml.model '\(v.model!)' is not supported (only byte-level BPE, 'gpt2')")
        }
        return try fromGGUF(tokens: v.tokens, merges: v.merges, tokenTypes: v.tokenTypes, bosID: v.bosID, eosID: v.eosID,
                            pre: v.pre ?? "default", addBOS: v.addBOS ?? false, addEOS: v.addEOS ?? false,
                            chatTemplate: v.chatTemplate, file: file)
    }
}
