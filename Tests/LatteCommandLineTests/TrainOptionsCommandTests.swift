import Foundation
import XCTest

/// `latte train`'s generator options as the real command parses them: `--help` documents each default,
/// and a bad generator config file or pairing is refused before any work, naming the key.
final class TrainOptionsCommandTests: XCTestCase {
    func train(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try LatteExecutable.runMerged(["train"] + arguments)
    }

    func testHelpDocumentsTheGeneratorOptionsAndTheirDefaults() throws {
        let help = try train(["--help"])
        XCTAssertEqual(help.status, 0, help.output)
        // Help lines wrap: compare with the whitespace folded.
        let text = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for expected in ["--generator-config", "--backbone-layers", "every:N", "--layers-per-group", "--patch-size", "--attention-bias/--no-attention-bias",
                         "(1 = vanilla; default 5)", "Generation width (default 128)", "SwiGLU hidden width (default 384)",
                         "(default pre_softmax)", "(default 1)", "(default: uniform)", "(default: 0.0005)", "(default: 32)"] {
            XCTAssertTrue(text.contains(expected), "latte train --help lacks \(expected):\n\(help.output)")
        }
    }

    /// The image and caption options: documented, and contradictions refused before any work.
    func testImageAndCaptionOptionsAreDocumentedAndCheckedFirst() throws {
        let help = try train(["--help"])
        let text = help.output.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for expected in ["--resolution", "--background", "--flip", "--sample-prompt", "--prompt-cache-memory", "(default: 500)",
                         "FILE.jsonl", "sample prompts"] {
            XCTAssertTrue(text.contains(expected), "latte train --help lacks \(expected):\n\(help.output)")
        }
        for (arguments, expected) in [(["--pad", "2", "--resolution", "32"], "give one"),
                                      (["--background", "purple"], "'purple' is not a colour"),
                                      (["--sample-prompt", " "], "--sample-prompt 1 is empty"),
                                      (["--resolution", "0"], "--resolution must be at least 1")] {
            let r = try train(arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertTrue(r.output.contains(expected), "\(arguments): \(r.output)")
        }
    }

    func testABadGeneratorConfigOrPairingIsRefusedNamingTheKey() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("train-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"groups": 4, "mlp_widht": 96}"#.utf8).write(to: file)
        let unknown = try train(["--generator-config", file.path])
        XCTAssertNotEqual(unknown.status, 0)
        XCTAssertTrue(unknown.output.contains(#"unknown key "mlp_widht""#), unknown.output)

        let pairing = try train(["--backbone-layers", "0-3-5"])
        XCTAssertNotEqual(pairing.status, 0)
        XCTAssertTrue(pairing.output.contains("backbone layers '0-3-5'"), pairing.output)
    }
}
