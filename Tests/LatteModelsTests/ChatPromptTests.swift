import Foundation
import LatteFormats
import LatteModels
import LatteTokenizers
import XCTest

/// `Backbone.chatPrompt` / `rawPrompt`: the one place `latte chat` and `latte serve` turn a conversation
/// into prompt ids, images and stop tokens.
final class ChatPromptTests: XCTestCase {
    /// Printable ASCII are ids 0–94, "\n" 95, then ChatML's and Qwen2-VL's specials at `specials`' ids.
    static func tokenizer(_ specials: [(String, Int)]) throws -> Data {
        var vocab: [String: Int] = [:]
        for (i, c) in (32...126).enumerated() { vocab[String(Character(UnicodeScalar(UInt8(c))))] = i }
        vocab["\n"] = 95
        for (text, id) in specials { vocab[text] = id }
        let added = specials.map { ["id": $0.1, "content": $0.0, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true] as [String: Any] }
        let json: [String: Any] = ["version": "1.0", "added_tokens": added, "normalizer": NSNull(), "pre_tokenizer": NSNull(), "post_processor": NSNull(),
                                   "decoder": NSNull(), "model": ["type": "BPE", "vocab": vocab, "merges": [String]()] as [String: Any]]
        return try JSONSerialization.data(withJSONObject: json)
    }

    static let chatML = [("<|im_start|>", 96), ("<|im_end|>", 97)]
    /// The vision ids tiny-a's config.json names.
    static let vision = [("<|vision_start|>", 98), ("<|vision_end|>", 99), ("<|image_pad|>", 100)]

    func folder(_ source: URL, files: [String], tokenizer: Data) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("chat-prompt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for file in files { try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file)) }
        try tokenizer.write(to: dir.appendingPathComponent("tokenizer.json"))
        return dir
    }

    func testQwen2VLPutsEachImagesPadsBeforeItsTurnsText() throws {
        let source = try Qwen2VLFixtures.folder("tiny-a")
        let dir = try folder(source, files: ["config.json", "model.safetensors", "preprocessor_config.json"], tokenizer: Self.tokenizer(Self.chatML + Self.vision))
        defer { try? FileManager.default.removeItem(at: dir) }
        let backbone = try Backbone.load(dir.path)
        XCTAssertTrue(backbone.canSee)
        let image = try PNG.read(source.appendingPathComponent("image0.png").path)
        let prompt = try backbone.chatPrompt([.init(.system, "Be brief."), .init(.user, "what?", images: [image])])

        let input = try Qwen2VLImageProcessor(preprocessorConfig: dir.appendingPathComponent("preprocessor_config.json"))([image])
        let pads = input.grids[0].mergedTokenCount(mergeSize: 2)
        XCTAssertGreaterThan(pads, 0)
        XCTAssertEqual(prompt.imageTokens, pads)
        XCTAssertEqual(prompt.ids.filter { $0 == 100 }.count, pads)
        XCTAssertEqual(prompt.images?.grids, input.grids)
        let expected = try backbone.tokenizer.encodeChat([ChatMessage(.system, "Be brief."),
                                                          ChatMessage(.user, parts: [.image(padTokens: pads), .text("what?")])], template: .qwen2VL)
        XCTAssertEqual(prompt.ids, expected)
        XCTAssertTrue(prompt.stopTokens.contains(97), "a chat ends at <|im_end|>")

        // Raw: the image's placeholder, then the text as is.
        let raw = try backbone.rawPrompt("hi", image: image)
        XCTAssertEqual(raw.ids, [98] + Array(repeating: 100, count: pads) + [99] + backbone.tokenizer.encode("hi", addSpecialTokens: false))
        XCTAssertEqual(raw.imageTokens, pads)
        XCTAssertNil(try backbone.chatPrompt([.init(.user, "no image")]).images)
    }

    func testQwen2VLTokenizerWhoseVisionIdsDisagreeIsAnError() throws {
        let source = try Qwen2VLFixtures.folder("tiny-a")
        let wrong = [("<|vision_start|>", 98), ("<|vision_end|>", 99), ("<|image_pad|>", 101)]
        let dir = try folder(source, files: ["config.json", "model.safetensors"], tokenizer: Self.tokenizer(Self.chatML + wrong))
        defer { try? FileManager.default.removeItem(at: dir) }
        let backbone = try Backbone.load(dir.path)
        XCTAssertThrowsError(try backbone.chatPrompt([.init(.user, "hi")])) { error in
            XCTAssertTrue("\(error)".contains("<|image_pad|> is token 101, config.json says 100"), "\(error)")
        }
    }

    func testTextOnlyBackboneUsesChatMLAndRefusesImages() throws {
        let dir = try folder(LLaMAFixtures.folder("tiny-gqa-untied"), files: ["config.json", "model.safetensors"], tokenizer: Self.tokenizer(Self.chatML))
        defer { try? FileManager.default.removeItem(at: dir) }
        let backbone = try Backbone.load(dir.path)
        XCTAssertFalse(backbone.canSee)
        let prompt = try backbone.chatPrompt([.init(.user, "hi")])
        // Plain ChatML (no default system turn: the tokenizer's template is not SmolLM2's).
        XCTAssertEqual(prompt.ids, backbone.tokenizer.encode("<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", addSpecialTokens: false))
        XCTAssertEqual(prompt.stopTokens, [97])
        XCTAssertNil(prompt.images)
        let raw = try backbone.rawPrompt("Once")
        XCTAssertEqual(raw.ids, backbone.tokenizer.encode("Once", addSpecialTokens: false))
        XCTAssertEqual(raw.stopTokens, [], "a raw continuation stops only at an end-of-sequence id (this tokenizer has none)")
        let image = Image(width: 4, height: 4, channels: 3, fill: [1, 2, 3])
        XCTAssertThrowsError(try backbone.chatPrompt([.init(.user, "what?", images: [image])])) { error in
            XCTAssertTrue("\(error)".contains("cannot take images"), "\(error)")
        }
        XCTAssertThrowsError(try backbone.rawPrompt("what?", image: image))
    }
}
