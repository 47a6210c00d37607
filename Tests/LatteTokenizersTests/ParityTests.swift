import Foundation
import XCTest
@testable import LatteTokenizers

/// Encode/decode parity with HF `tokenizers` on the committed string list (≥ 100 strings per tokenizer).
final class ParityTests: XCTestCase {
    func testMiniLMWordPieceParity() throws {
        let p = try Fixtures.parity("parity_minilm.json")
        XCTAssertGreaterThanOrEqual(p.cases.count, 100)
        let tok = try Tokenizer.load(contentsOf: Fixtures.url(p.tokenizer))
        XCTAssertEqual(checkParity(tok, p), 0)
    }

    func testSmolLM2GGUFParity() throws {
        let p = try Fixtures.parity("parity_smollm2.json")
        XCTAssertGreaterThanOrEqual(p.cases.count, 100)
        let tok = try Tokenizer.load(contentsOf: Fixtures.asset(p.tokenizer))
        XCTAssertEqual(tok.vocabularySize, 49152)
        XCTAssertEqual(tok.bosTokenID, 1)
        XCTAssertEqual(tok.eosTokenID, 2)
        XCTAssertEqual(checkParity(tok, p), 0)
    }

    func testTinyTokenizersParity() throws {
        let names = ["tiny_gpt2", "tiny_qwen2", "tiny_llama3", "tiny_sentencepiece", "tiny_metaspace",
                     "tiny_wordpiece", "tiny_wordpiece_bert"]
        for n in names {
            let p = try Fixtures.parity("parity_\(n).json")
            XCTAssertGreaterThanOrEqual(p.cases.count, 100)
            let tok = try Tokenizer.load(contentsOf: Fixtures.url(p.tokenizer))
            XCTAssertEqual(checkParity(tok, p), 0, n)
        }
    }
}
