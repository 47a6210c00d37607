import Foundation
import XCTest
import LatteTestSupport
@testable import LatteTokenizers

/// Committed fixtures (Tests/LatteTokenizersTests/Fixtures, made by scripts/make_tokenizer_fixtures.py)
/// and pinned assets from the asset cache ($LATTE_HOME, default ~/.cache/latteflow).
enum Fixtures {
    static var directory: URL { Bundle.module.url(forResource: "Fixtures", withExtension: nil)! }

    static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

    /// A file of a pinned asset named as `asset/file` (e.g. `smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`):
    /// skipped without it, failed under CI=true (`PinnedAssets`).
    static func asset(_ relative: String) throws -> URL {
        guard let slash = relative.firstIndex(of: "/") else { return try PinnedAssets.require(relative) }
        return try PinnedAssets.require(String(relative[..<slash]), file: String(relative[relative.index(after: slash)...]))
    }

    struct ParityCase: Decodable {
        let text: String
        let ids: [Int]
        let ids_plain: [Int]
        let tokens_plain: [String]
        let decoded: String
        let decoded_skip: String
    }

    struct Parity: Decodable {
        let tokenizer: String
        let note: String
        let cases: [ParityCase]
    }

    static func parity(_ name: String) throws -> Parity {
        try JSONDecoder().decode(Parity.self, from: Data(contentsOf: url(name)))
    }

    static var smolLM2Path: String { "smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" }
}

/// A committed fixture that does not say what the test expects: thrown, it fails the test (never a skip).
struct BrokenFixture: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Scalar-exact comparison (Swift `==` on String treats canonically equivalent text as equal).
func sameScalars(_ a: String, _ b: String) -> Bool { a.unicodeScalars.elementsEqual(b.unicodeScalars) }

func scalarDump(_ s: String) -> String { s.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ") }

/// Checks every case of a parity fixture; returns the number of failures (each one reported).
@discardableResult
func checkParity(_ tok: Tokenizer, _ parity: Fixtures.Parity, file: StaticString = #filePath, line: UInt = #line) -> Int {
    var failures = 0
    for c in parity.cases {
        let ids = tok.encode(c.text, addSpecialTokens: true)
        let plain = tok.encode(c.text, addSpecialTokens: false)
        var ok = true
        if ids != c.ids {
            ok = false
            let got = plain.map { tok.idToToken($0) ?? "?" }
            XCTFail("\(parity.tokenizer): encode \(String(reflecting: c.text))\n got \(ids)\n want \(c.ids)\n got tokens \(got)\n want tokens \(c.tokens_plain)", file: file, line: line)
        }
        if plain != c.ids_plain {
            ok = false
            XCTFail("\(parity.tokenizer): encode without special tokens \(String(reflecting: c.text)): got \(plain), want \(c.ids_plain)", file: file, line: line)
        }
        let d = tok.decode(c.ids, skipSpecialTokens: false)
        if !sameScalars(d, c.decoded) {
            ok = false
            XCTFail("\(parity.tokenizer): decode \(c.ids): got \(String(reflecting: d)) [\(scalarDump(d))], want \(String(reflecting: c.decoded)) [\(scalarDump(c.decoded))]", file: file, line: line)
        }
        let ds = tok.decode(c.ids, skipSpecialTokens: true)
        if !sameScalars(ds, c.decoded_skip) {
            ok = false
            XCTFail("\(parity.tokenizer): decode skipping specials \(c.ids): got \(String(reflecting: ds)), want \(String(reflecting: c.decoded_skip))", file: file, line: line)
        }
        if !ok { failures += 1 }
    }
    return failures
}
