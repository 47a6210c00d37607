import Foundation
import XCTest
@testable import LatteTokenizers

/// ChatML rendering against jinja2 renderings of the real templates, and the streaming detokenizer.
final class ChatAndStreamingTests: XCTestCase {
    struct Chat: Decodable {
        struct Message: Decodable {
            let role: String
            let content: Content
        }
        enum Content: Decodable {
            case text(String)
            case parts([Part])
            init(from decoder: Decoder) throws {
                let c = try decoder.singleValueContainer()
                if let s = try? c.decode(String.self) { self = .text(s) } else { self = .parts(try c.decode([Part].self)) }
            }
        }
        struct Part: Decodable {
            let type: String
            let text: String?
            let pads: Int?
        }
        let template: String
        let messages: [Message]
        let add_generation_prompt: Bool
        let text: String
        let ids: [Int]
    }

    struct ChatFile: Decodable { let chats: [Chat] }

    private func messages(_ c: Chat) throws -> [ChatMessage] {
        try c.messages.map { m in
            guard let role = ChatMessage.Role(rawValue: m.role) else { throw BrokenFixture("chat_templates.json: unknown role \(m.role)") }
            switch m.content {
            case .text(let s): return ChatMessage(role, s)
            case .parts(let ps):
                return ChatMessage(role, parts: ps.map { $0.type == "image" ? .image(padTokens: $0.pads ?? 0) : .text($0.text ?? "") })
            }
        }
    }

    private func chats() throws -> [Chat] {
        try JSONDecoder().decode(ChatFile.self, from: Data(contentsOf: Fixtures.url("chat_templates.json"))).chats
    }

    func testTemplatesRenderLikeJinja() throws {
        let all = try chats()
        XCTAssertGreaterThanOrEqual(all.count, 8)
        for c in all {
            let t: ChatTemplate = c.template == "smollm2" ? .smolLM2 : .qwen2VL
            let got = try t.render(try messages(c), addGenerationPrompt: c.add_generation_prompt)
            XCTAssertTrue(sameScalars(got, c.text), "\(c.template): got \(String(reflecting: got)), want \(String(reflecting: c.text))")
        }
    }

    func testQwen2VLChatIdsWithVisionPlaceholders() throws {
        let tok = try Tokenizer.load(contentsOf: Fixtures.url("tiny_qwen2.json"))
        let pad = try XCTUnwrap(tok.tokenToID(ChatTemplate.imagePad))
        for c in try chats() where c.template == "qwen2vl" {
            let ids = try tok.encodeChat(try messages(c), template: .qwen2VL, addGenerationPrompt: c.add_generation_prompt)
            XCTAssertEqual(ids, c.ids)
            let wantPads = try messages(c).flatMap(\.parts).reduce(0) { n, p in
                if case .image(let k) = p { return n + k }
                return n
            }
            XCTAssertEqual(ids.filter { $0 == pad }.count, wantPads)
        }
    }

    func testSmolLM2ChatIds() throws {
        let tok = try Tokenizer.load(contentsOf: Fixtures.asset(Fixtures.smolLM2Path))
        for c in try chats() where c.template == "smollm2" {
            XCTAssertEqual(try tok.encodeChat(try messages(c), template: .smolLM2, addGenerationPrompt: c.add_generation_prompt), c.ids)
        }
        // The GGUF's own template is the one ChatTemplate.smolLM2 reproduces.
        XCTAssertTrue(tok.chatTemplate?.contains("You are a helpful AI assistant named SmolLM, trained by Hugging Face") ?? false)
    }

    func testTextOnlyTemplateRejectsImages() {
        XCTAssertThrowsError(try ChatTemplate.smolLM2.render([ChatMessage(.user, parts: [.image(padTokens: 4)])], addGenerationPrompt: true))
        XCTAssertThrowsError(try ChatTemplate.qwen2VL.render([ChatMessage(.user, parts: [.image(padTokens: 0)])], addGenerationPrompt: true))
    }

    /// Feeding ids one at a time yields the full decode, and no chunk holds a broken character.
    private func checkStreaming(_ tok: Tokenizer, _ parity: Fixtures.Parity, skipSpecial: Bool) {
        for c in parity.cases {
            var s = StreamingDetokenizer(tokenizer: tok, skipSpecialTokens: skipSpecial)
            var chunks: [String] = []
            for id in c.ids { chunks.append(s.push(id)) }
            chunks.append(s.finish())
            let joined = chunks.joined()
            let want = skipSpecial ? c.decoded_skip : c.decoded
            XCTAssertTrue(sameScalars(joined, want), "\(parity.tokenizer) \(String(reflecting: c.text)): streamed \(String(reflecting: joined)), want \(String(reflecting: want))")
            if !want.unicodeScalars.contains("\u{FFFD}") {
                XCTAssertFalse(chunks.contains { $0.unicodeScalars.contains("\u{FFFD}") }, "\(parity.tokenizer) \(String(reflecting: c.text)): \(chunks)")
            }
        }
    }

    func testStreamingMatchesDecodeForEveryTokenizer() throws {
        for n in ["tiny_gpt2", "tiny_qwen2", "tiny_sentencepiece", "tiny_metaspace", "tiny_wordpiece"] {
            let p = try Fixtures.parity("parity_\(n).json")
            let tok = try Tokenizer.load(contentsOf: Fixtures.url(p.tokenizer))
            checkStreaming(tok, p, skipSpecial: true)
            checkStreaming(tok, p, skipSpecial: false)
        }
        let p = try Fixtures.parity("parity_minilm.json")
        checkStreaming(try Tokenizer.load(contentsOf: Fixtures.url(p.tokenizer)), p, skipSpecial: true)
    }

    func testStreamingSmolLM2() throws {
        let p = try Fixtures.parity("parity_smollm2.json")
        let tok = try Tokenizer.load(contentsOf: Fixtures.asset(p.tokenizer))
        checkStreaming(tok, p, skipSpecial: true)
        checkStreaming(tok, p, skipSpecial: false)
    }

    func testStreamingWaitsForWholeEmoji() throws {
        let tok = try Tokenizer.load(contentsOf: Fixtures.url("tiny_qwen2.json"))
        // The tiny vocabulary spells this emoji with several byte tokens: nothing may appear until the last.
        let ids = tok.encode("😀", addSpecialTokens: false)
        XCTAssertGreaterThanOrEqual(ids.count, 2)
        var s = StreamingDetokenizer(tokenizer: tok)
        for id in ids.dropLast() { XCTAssertEqual(s.push(id), "") }
        XCTAssertTrue(sameScalars(s.push(ids.last ?? 0), "😀"))
        XCTAssertEqual(s.finish(), "")
    }
}
