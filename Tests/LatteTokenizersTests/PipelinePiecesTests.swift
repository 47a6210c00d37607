import Foundation
import XCTest
@testable import LatteTokenizers

/// Each pre-tokenizer and normaliser alone against HF's pre_tokenize_str / normalize_str (pieces.json),
/// built from the same JSON config HF serialises, so parsing is covered too.
final class PipelinePiecesTests: XCTestCase {
    private func load() throws -> JSONObject {
        let data = try Data(contentsOf: Fixtures.url("pieces.json"))
        let v = try data.withUnsafeBytes { try JSONParser.parse($0.bindMemory(to: UInt8.self)) }
        guard case .object(let o) = v else { throw BrokenFixture("pieces.json is not a JSON object") }
        return o
    }

    private func cases(_ v: JSONValue?) -> [(String, JSONValue)] {
        guard case .array(let a)? = v else { return [] }
        return a.compactMap {
            guard case .array(let pair) = $0, pair.count == 2, case .string(let s) = pair[0] else { return nil }
            return (s, pair[1])
        }
    }

    func testPreTokenizersMatchHF() throws {
        let root = try load()
        let r = JSONReader(file: "pieces.json")
        let all = try r.object(root["pre_tokenizers"], "pre_tokenizers")
        XCTAssertGreaterThanOrEqual(all.count, 15)
        for (name, entry) in all {
            let e = try r.object(entry, name)
            let pre = try Tokenizer.parsePreTokenizer(e["config"], name, r)
            let cs = cases(e["cases"])
            XCTAssertGreaterThanOrEqual(cs.count, 100, name)
            for (text, expected) in cs {
                let want = try r.array(expected, name).map { try r.string($0, name) }
                let got = pre.preTokenize([Array(text.unicodeScalars)], isFirst: true).map { String(String.UnicodeScalarView($0)) }
                XCTAssertTrue(got.count == want.count && zip(got, want).allSatisfy(sameScalars),
                              "\(name) on \(String(reflecting: text)): got \(got), want \(want)")
            }
        }
    }

    func testNormalizersMatchHF() throws {
        let root = try load()
        let r = JSONReader(file: "pieces.json")
        let all = try r.object(root["normalizers"], "normalizers")
        XCTAssertGreaterThanOrEqual(all.count, 10)
        for (name, entry) in all {
            let e = try r.object(entry, name)
            let n = try Tokenizer.parseNormalizer(e["config"], name, r)
            for (text, expected) in cases(e["cases"]) {
                let want = try r.string(expected, name)
                let got = String(String.UnicodeScalarView(n.normalize(Array(text.unicodeScalars))))
                XCTAssertTrue(sameScalars(got, want),
                              "\(name) on \(String(reflecting: text)): got \(scalarDump(got)), want \(scalarDump(want))")
            }
        }
    }

    func testByteLevelAlphabetRoundTrips() {
        // 256 distinct scalars, and decode inverts encode for every byte.
        XCTAssertEqual(Set(ByteLevelAlphabet.byteToScalar).count, 256)
        for b in 0..<256 {
            XCTAssertEqual(ByteLevelAlphabet.decode(String(Character(ByteLevelAlphabet.byteToScalar[b]))), [UInt8(b)])
        }
        XCTAssertEqual(ByteLevelAlphabet.byteToScalar[32], "\u{120}")  // space → Ġ
        XCTAssertEqual(ByteLevelAlphabet.byteToScalar[10], "\u{10A}")  // newline → Ċ
    }
}
