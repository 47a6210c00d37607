// The id digest must equal scripts/bench_tokenizers.py's, or every comparison would read "IDS DIFFER".
import XCTest
@testable import LatteBenchmarks

final class TokenizerDigestTests: XCTestCase {
    func testDigestMatchesThePythonReference() {
        // Values printed by the script's digest() for the same ids.
        XCTAssertEqual(TokenizerBenchmark.digest([]), "cbf29ce484222325")
        XCTAssertEqual(TokenizerBenchmark.digest([0, 1, 49151, 12]), "5b8259eb1f5953b9")
    }

    func testGeneratedTextIsDeterministicAndLongEnough() {
        let text = TokenizerBenchmark.generatedText(bytes: 10_000)
        XCTAssertEqual(text, TokenizerBenchmark.generatedText(bytes: 10_000))
        XCTAssertGreaterThanOrEqual(text.utf8.count, 10_000)
        XCTAssertTrue(text.contains("\n"), "the per-line measurement needs lines")
    }
}
