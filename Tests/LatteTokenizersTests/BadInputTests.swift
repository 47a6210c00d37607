import Foundation
import XCTest
@testable import LatteTokenizers

/// Malformed and hostile tokenizer.json and GGUF input: always a thrown TokenizerError naming the file and
/// the problem, never a crash, a hang, or an allocation sized by an unchecked field.
final class BadInputTests: XCTestCase {
    private func expectError(_ json: String, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        expectError(Data(json.utf8), mentions: words, file: file, line: line)
    }

    private func expectError(_ data: Data, mentions words: [String], file: StaticString = #filePath, line: UInt = #line) {
        let name = "bad/tokenizer.json"
        do {
            _ = try Tokenizer(jsonData: data, file: name)
            XCTFail("accepted a bad tokenizer.json: \(String(decoding: data.prefix(200), as: UTF8.self))", file: file, line: line)
        } catch let e as TokenizerError {
            XCTAssertEqual(e.file, name, file: file, line: line)
            XCTAssertTrue(e.description.hasPrefix(name), file: file, line: line)
            for w in words {
                XCTAssertTrue(e.description.contains(w), "'\(e.description)' does not mention '\(w)'", file: file, line: line)
            }
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    /// A valid minimal BPE tokenizer.json with one field swapped for `model`.
    private func bpe(model: String, extra: String = "") -> String {
        #"{"version":"1.0","added_tokens":[],"normalizer":null,"pre_tokenizer":null,"post_processor":null,"decoder":null"#
            + extra + #","model":"# + model + "}"
    }

    func testMinimalValidFileLoads() throws {
        // The baseline the hostile variants below are derived from must itself be accepted.
        let t = try Tokenizer(jsonData: Data(bpe(model: #"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["a b"]}"#).utf8), file: "ok.json")
        XCTAssertEqual(t.encode("abab"), [2, 2])
        XCTAssertEqual(t.decode([2, 0]), "ab a")
    }

    func testMissingOrWrongModel() {
        expectError(#"{"version":"1.0","added_tokens":[]}"#, mentions: ["$.model", "missing"])
        expectError(bpe(model: "5"), mentions: ["$.model", "expected an object"])
        expectError(bpe(model: #"{"type":"Unigram","vocab":[]}"#), mentions: ["unsupported model 'Unigram'"])
        expectError(bpe(model: #"{"type":"BPE","merges":[]}"#), mentions: ["$.model.vocab", "missing"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{},"merges":[]}"#), mentions: ["empty vocabulary"])
        expectError(bpe(model: #"{"type":"WordPiece","vocab":{"a":0},"unk_token":"[UNK]"}"#), mentions: ["unk_token '[UNK]'"])
    }

    func testBadMerges() {
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a c"]}"#), mentions: ["merge #0", "'c' is not in the vocabulary"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":0,"b":1},"merges":["a b"]}"#), mentions: ["merged token 'ab'"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":["ab"]}"#), mentions: ["merges[0]", "not two tokens"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[["a","b","c"]]}"#), mentions: ["merges[0]", "two tokens"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":0,"b":1,"ab":2},"merges":[7]}"#), mentions: ["merges[0]"])
    }

    func testWrongTypes() {
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":"zero"},"merges":[]}"#), mentions: ["vocab[\"a\"]", "expected an integer"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":0.5},"merges":[]}"#), mentions: ["not an integer"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":0},"merges":{}}"#), mentions: ["$.model.merges", "expected an array"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":0,"b":0},"merges":[]}"#), mentions: ["used by more than one token"])
        expectError(#"{"added_tokens":[{"id":0,"content":7}],"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#,
                    mentions: ["$.added_tokens[0].content", "expected a string"])
        expectError(#"{"normalizer":{"type":"Precompiled"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#,
                    mentions: ["unsupported normalizer 'Precompiled'"])
        expectError(#"{"pre_tokenizer":{"type":"Split","pattern":{"Regex":"(unclosed"},"behavior":"Isolated"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#,
                    mentions: ["unsupported regular expression"])
        expectError(#"{"pre_tokenizer":{"type":"Split","pattern":{"String":"x"},"behavior":"Sideways"},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#,
                    mentions: ["unknown split behavior 'Sideways'"])
        expectError(#"{"post_processor":{"type":"TemplateProcessing","single":[],"special_tokens":{}},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#,
                    mentions: ["no $A sequence"])
        expectError(#"{"decoder":{"type":"Strip","content":"ab","start":1,"stop":0},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#,
                    mentions: ["$.decoder.content", "one character"])
        expectError(#"[1,2,3]"#, mentions: ["$", "expected an object"])
    }

    func testHugeDeclaredSizes() {
        // Ids index a dense table: a huge or sparse id must be refused, not allocated.
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":4294967296},"merges":[]}"#), mentions: ["not an integer in 0..."])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":16000000},"merges":[]}"#), mentions: ["token id 16000000 is out of range"])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":-1},"merges":[]}"#), mentions: ["not an integer in 0..."])
        expectError(bpe(model: #"{"type":"BPE","vocab":{"a":1e300},"merges":[]}"#), mentions: ["not an integer"])
        expectError(bpe(model: #"{"type":"WordPiece","vocab":{"[UNK]":0},"max_input_chars_per_word":1e30}"#),
                    mentions: ["max_input_chars_per_word"])
        expectError(#"{"decoder":{"type":"Strip","content":" ","start":99999999999,"stop":0},"model":{"type":"BPE","vocab":{"a":0},"merges":[]}}"#,
                    mentions: ["$.decoder.start"])
        // 100k nested arrays: refused by the depth limit instead of exhausting the stack.
        expectError(String(repeating: "[", count: 100_000), mentions: ["nested deeper"])
    }

    func testTruncatedAndCorruptJSON() throws {
        let good = try Data(contentsOf: Fixtures.url("minilm_tokenizer.json"))
        XCTAssertNoThrow(try Tokenizer(jsonData: good, file: "good.json"))
        // Every cut of the real file is rejected; cuts at the very end leave whitespace only, so stop early.
        var cut = 0
        while cut < good.count - 2 {
            expectError(good.prefix(cut), mentions: ["not a tokenizer.json"])
            cut += cut < 200 ? 7 : 9973
        }
        expectError(Data(), mentions: ["unexpected end of data"])
        expectError(Data([0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D]), mentions: ["invalid UTF-8"])
        expectError(#"{"model":{"type":"BPE","vocab":{"\ud800":0},"merges":[]}}"#, mentions: ["unpaired surrogate"])
        expectError(#"{"model":nul}"#, mentions: ["invalid literal"])
        expectError(#"{"a":1} trailing"#, mentions: ["after the document"])
    }

    func testMissingFileNamesIt() {
        let url = URL(fileURLWithPath: "/nonexistent/dir/tokenizer.json")
        XCTAssertThrowsError(try Tokenizer.load(contentsOf: url)) { e in
            XCTAssertTrue(String(describing: e).contains("/nonexistent/dir/tokenizer.json"))
        }
    }

    // MARK: GGUF

    func testTinyGGUFLoads() throws {
        let t = try Tokenizer.load(contentsOf: try writeTemp(TinyGGUF.bytes(), "tiny.gguf"))
        // 256 byte tokens + "ab" (from merge "a b") + "<|im_start|>" as a control token.
        let a = try XCTUnwrap(t.tokenToID("a")), ab = try XCTUnwrap(t.tokenToID("ab")), im = try XCTUnwrap(t.tokenToID("<|im_start|>"))
        XCTAssertEqual(t.encode("ab<|im_start|>a"), [ab, im, a])
        XCTAssertEqual(t.decode([ab, im, a]), "ab<|im_start|>a")
        XCTAssertEqual(t.decode([ab, im, a], skipSpecialTokens: true), "aba")
        XCTAssertEqual(t.bosTokenID, im)
    }

    func testHostileGGUF() throws {
        func expectGGUFError(_ data: [UInt8], _ word: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try Tokenizer.fromGGUF(GGUFVocabulary(data: Data(data), file: "bad.gguf"), file: "bad.gguf"),
                                 file: file, line: line) { e in
                let d = String(describing: e)
                XCTAssertTrue(d.hasPrefix("bad.gguf") && (word.isEmpty || d.contains(word)), "'\(d)' should mention '\(word)'", file: file, line: line)
            }
        }
        let good = TinyGGUF.bytes()
        XCTAssertNoThrow(try GGUFVocabulary(data: Data(good), file: "good.gguf"))
        // Every truncation of a valid file.
        for n in stride(from: 0, to: good.count, by: 3) { expectGGUFError(Array(good.prefix(n)), "") }
        expectGGUFError(Array("GGUX".utf8) + Array(good.dropFirst(4)), "bad magic")
        expectGGUFError(TinyGGUF.bytes(version: 7), "version 7")
        expectGGUFError(TinyGGUF.bytes(kvCountOverride: 1 << 40), "declares")
        expectGGUFError(TinyGGUF.bytes(tokenCountOverride: 1 << 40), "tokenizer.ggml.tokens declares")
        expectGGUFError(TinyGGUF.bytes(tokenCountOverride: 1 << 20), "more than the file can hold")
        expectGGUFError(TinyGGUF.bytes(stringLengthOverride: UInt64.max), "runs past the end")
        expectGGUFError(TinyGGUF.bytes(tokenTypeCount: 3), "token_type has 3 entries")
        expectGGUFError(TinyGGUF.bytes(merges: ["a q"]), "merge #0")
        expectGGUFError(TinyGGUF.bytes(merges: ["ab"]), "not two tokens")
        expectGGUFError(TinyGGUF.bytes(pre: "mystery"), "unsupported tokenizer.ggml.pre 'mystery'")
        expectGGUFError(TinyGGUF.bytes(model: "llama"), "'llama' is not supported")
        expectGGUFError(TinyGGUF.bytes(bos: 99999), "outside the")
    }

    private func writeTemp(_ bytes: [UInt8], _ name: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latte-tok-\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}

/// Writes a small GGUF v3 file holding only tokenizer metadata (plus one unrelated key that must be skipped),
/// with knobs that make each field hostile.
enum TinyGGUF {
    static func bytes(version: UInt32 = 3, kvCountOverride: UInt64? = nil, tokenCountOverride: UInt64? = nil,
                      stringLengthOverride: UInt64? = nil, tokenTypeCount: Int? = nil, merges: [String] = ["a b"],
                      pre: String = "smollm", model: String = "gpt2", bos: UInt32? = nil) -> [UInt8] {
        var tokens = ByteLevelAlphabet.byteToScalar.map { String(Character($0)) }
        tokens.append("ab")
        tokens.append("<|im_start|>")
        var types = [Int32](repeating: 1, count: tokens.count)
        types[types.count - 1] = 3
        if let n = tokenTypeCount { types = Array(types.prefix(n)) }
        var out: [UInt8] = []
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func str(_ s: String, length: UInt64? = nil) { u64(length ?? UInt64(s.utf8.count)); out += Array(s.utf8) }
        out += Array("GGUF".utf8)
        u32(version)
        u64(0)
        u64(kvCountOverride ?? 8)
        str("general.architecture"); u32(8); str("llama")
        str("some.float.array"); u32(9); u32(6); u64(2); u32(0); u32(0)
        str("tokenizer.ggml.model"); u32(8); str(model)
        str("tokenizer.ggml.pre"); u32(8); str(pre, length: stringLengthOverride)
        str("tokenizer.ggml.tokens"); u32(9); u32(8); u64(tokenCountOverride ?? UInt64(tokens.count))
        for t in tokens { str(t) }
        str("tokenizer.ggml.token_type"); u32(9); u32(5); u64(UInt64(types.count))
        for t in types { withUnsafeBytes(of: t.littleEndian) { out += $0 } }
        str("tokenizer.ggml.merges"); u32(9); u32(8); u64(UInt64(merges.count))
        for m in merges { str(m) }
        str("tokenizer.ggml.bos_token_id"); u32(4); u32(bos ?? UInt32(tokens.count - 1))
        return out
    }
}
