import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LatteFormats
import XCTest

/// `POST /v1/chat/completions` with the backbone (SmolLM2-135M, text only): plain and streamed answers,
/// limits, and refusals of images for a model that cannot see.
final class ChatCompletionTests: XCTestCase {
    func testCompletionHonoursMaxTokensAndIsSeeded() async throws {
        let s = try await TestServer.get()
        let request: [String: Any] = ["model": "anything", "messages": [["role": "system", "content": "Be brief."], ["role": "user", "content": "Name a colour."]],
                                      "max_tokens": 5, "temperature": 0.8, "top_p": 0.9, "seed": 11]
        let (status, body) = try await s.request("POST", "/v1/chat/completions", json: request)
        XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
        let o = try object(body)
        XCTAssertEqual(o["object"] as? String, "chat.completion")
        let choice = try XCTUnwrap((o["choices"] as? [[String: Any]])?.first)
        let message = try XCTUnwrap(choice["message"] as? [String: Any])
        XCTAssertEqual(message["role"] as? String, "assistant")
        let usage = try XCTUnwrap(o["usage"] as? [String: Any])
        XCTAssertLessThanOrEqual(usage["completion_tokens"] as? Int ?? 99, 5)
        XCTAssertGreaterThan(usage["prompt_tokens"] as? Int ?? 0, 5)
        if usage["completion_tokens"] as? Int == 5 { XCTAssertEqual(choice["finish_reason"] as? String, "length") }
        let (_, again) = try await s.request("POST", "/v1/chat/completions", json: request)
        let text = ((try object(again)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
        XCTAssertEqual(text, message["content"] as? String, "the same seed gives the same answer")
    }

    func testStreamSendsChunksEndingWithDone() async throws {
        let s = try await TestServer.get()
        let request: [String: Any] = ["messages": [["role": "user", "content": "Count: one, two,"]], "max_tokens": 6, "temperature": 0,
                                      "stream": true, "stream_options": ["include_usage": true]]
        let (status, body) = try await s.request("POST", "/v1/chat/completions", json: request)
        XCTAssertEqual(status, 200)
        let events = serverSentEvents(body)
        XCTAssertEqual(events.last?.1, "[DONE]")
        let chunks = try events.dropLast().map { try object(Data($0.1.utf8)) }
        XCTAssertGreaterThanOrEqual(chunks.count, 3)
        for c in chunks { XCTAssertEqual(c["object"] as? String, "chat.completion.chunk") }
        let first = try XCTUnwrap((chunks[0]["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])
        XCTAssertEqual(first["role"] as? String, "assistant")
        let finishes = chunks.compactMap { ($0["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String }
        XCTAssertEqual(finishes.count, 1)
        XCTAssertNotNil((chunks.last?["usage"] as? [String: Any])?["completion_tokens"] as? Int)
        // Greedy: the streamed text is the plain answer.
        var plain = request
        plain["stream"] = false
        let (_, answer) = try await s.request("POST", "/v1/chat/completions", json: plain)
        let text = ((try object(answer)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
        let streamed = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }.joined()
        XCTAssertEqual(streamed, text)
    }

    /// The answer ends where the model ends its turn (`<|im_end|>`), as in `latte chat` (the shared
    /// `Backbone.chatPrompt` gives both the stop tokens), not at `max_tokens`.
    func testAnswerEndsAtTheEndOfTurn() async throws {
        let s = try await TestServer.get()
        let request: [String: Any] = ["messages": [["role": "user", "content": "Say hi."]], "max_tokens": 64, "temperature": 0]
        let (status, body) = try await s.request("POST", "/v1/chat/completions", json: request)
        XCTAssertEqual(status, 200, String(decoding: body, as: UTF8.self))
        let o = try object(body)
        let choice = try XCTUnwrap((o["choices"] as? [[String: Any]])?.first)
        let text = try XCTUnwrap((choice["message"] as? [String: Any])?["content"] as? String)
        XCTAssertEqual(choice["finish_reason"] as? String, "stop", text)
        XCTAssertLessThan((o["usage"] as? [String: Any])?["completion_tokens"] as? Int ?? 64, 64, text)
        XCTAssertFalse(text.contains("<|im_"), text)
    }

    func testStopStringEndsTheAnswerBeforeIt() async throws {
        let s = try await TestServer.get()
        let base: [String: Any] = ["messages": [["role": "user", "content": "Say hello."]], "max_tokens": 12, "temperature": 0]
        let (_, free) = try await s.request("POST", "/v1/chat/completions", json: base)
        let text = try XCTUnwrap(((try object(free)["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String)
        guard text.count >= 4 else { throw XCTSkip("the greedy answer is too short to cut: \(text.debugDescription)") }
        let cut = text.index(text.startIndex, offsetBy: text.count / 2)
        let stop = String(text[cut...].prefix(2))
        var request = base
        request["stop"] = [stop]
        let (_, stopped) = try await s.request("POST", "/v1/chat/completions", json: request)
        let choice = try XCTUnwrap((try object(stopped)["choices"] as? [[String: Any]])?.first)
        let answer = try XCTUnwrap((choice["message"] as? [String: Any])?["content"] as? String)
        XCTAssertEqual(answer, String(text[..<text.range(of: stop)!.lowerBound]))
        XCTAssertEqual(choice["finish_reason"] as? String, "stop")
    }

    func testBadChatRequestsAre400s() async throws {
        let s = try await TestServer.get()
        let png = try PNG.encode(Image(width: 4, height: 4, channels: 3, fill: [200, 10, 10]))
        let image: [String: Any] = ["type": "image_url", "image_url": ["url": "data:image/png;base64," + Data(png).base64EncodedString()]]
        let cases: [([String: Any], String)] = [
            ([:], "messages"),
            (["messages": "hi"], "messages"),
            (["messages": [["role": "user"]]], "messages[0].content"),
            (["messages": [["role": "wizard", "content": "hi"]]], "messages[0].role"),
            (["messages": [["role": "user", "content": "hi"]], "max_tokens": "ten"], "max_tokens"),
            (["messages": [["role": "user", "content": "hi"]], "temperature": 5], "temperature"),
            (["messages": [["role": "user", "content": [["type": "text", "text": "what is this?"] as [String: Any], image] as [Any]] as [String: Any]] as [Any]], "messages[0].content[1]"),
        ]
        for (json, field) in cases {
            let (status, body) = try await s.request("POST", "/v1/chat/completions", json: json)
            XCTAssertEqual(status, 400, "\(json) → \(String(decoding: body, as: UTF8.self))")
            XCTAssertEqual(try apiError(body)["param"] as? String, field)
        }
        let (_, body) = try await s.request("POST", "/v1/chat/completions", json: cases.last!.0)
        XCTAssertTrue((try apiError(body)["message"] as? String ?? "").contains("cannot see images"))
        let (ok, _) = try await s.request("GET", "/health", key: nil)
        XCTAssertEqual(ok, 200)
    }
}
