import ArgumentParser
import Foundation
import LatteTokenizers

/// `latte tokenize`: token ids of standard input as a JSON array, or (with --decode) the text of a JSON
/// array of ids. Input is taken byte-exact (a trailing newline is part of the text).
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode standard input to token ids (a JSON array), or decode a JSON array of ids to text.")

    @Option(name: .long, help: "A tokenizer.json or a GGUF file.")
    var tokenizer: String

    @Flag(name: .long, help: "Read a JSON array of ids from standard input and print their text.")
    var decode = false

    @Flag(name: .customLong("no-special"),
          help: "Encode without the post-processor's special tokens (BOS, [CLS]…); decode skipping special tokens.")
    var noSpecial = false

    func run() throws {
        let tok = try Tokenizer.load(contentsOf: URL(fileURLWithPath: tokenizer))
        let input = FileHandle.standardInput.readDataToEndOfFile()
        if decode {
            let ids: [Int]
            do {
                ids = try JSONDecoder().decode([Int].self, from: input)
            } catch {
                throw ValidationError("standard input is not a JSON array of integer ids")
            }
            if let bad = ids.first(where: { tok.idToToken($0) == nil }) {
                throw ValidationError("id \(bad) is not in the tokenizer's \(tok.vocabularySize)-id vocabulary")
            }
            let text = tok.decode(ids, skipSpecialTokens: noSpecial)
            // Exact text for pipes; a final newline only for a terminal.
            FileHandle.standardOutput.write(Data(text.utf8))
            if isatty(1) != 0 { FileHandle.standardOutput.write(Data("\n".utf8)) }
        } else {
            guard let text = String(validating: input, as: UTF8.self) else {
                throw ValidationError("standard input is not valid UTF-8")
            }
            let ids = tok.encode(text, addSpecialTokens: !noSpecial)
            print("[" + ids.map(String.init).joined(separator: ",") + "]")
        }
    }
}
