import Foundation
import Hummingbird
import LatteFormats
import LatteModels
import LatteTokenizers

/// `POST /v1/chat/completions` (OpenAI's Chat Completions API), text and, for a model that sees,
/// `image_url` parts carrying `data:` URLs of base64 PNG or JPEG.
struct ChatRoutes {
    let state: ServerState
    let configuration: ServeConfiguration

    struct Parsed {
        var messages: [ChatPrompt.Turn]
        var parameters: GenerationParameters
        var stop: [String]
        var stream: Bool
        var includeUsage: Bool
    }

    static func parse(_ f: RequestFields, canSee: Bool) throws -> Parsed {
        guard f.has("messages") else { throw APIError.invalid("messages", "'messages' is required", code: "missing_required_parameter") }
        guard let raw = f.object["messages"] as? [Any], !raw.isEmpty else {
            throw APIError.invalid("messages", "'messages' must be a non-empty array of messages", code: "invalid_type")
        }
        var messages: [ChatPrompt.Turn] = []
        for (i, item) in raw.enumerated() {
            let field = "messages[\(i)]"
            guard let m = item as? [String: Any] else { throw APIError.invalid(field, "'\(field)' must be an object", code: "invalid_type") }
            guard let roleName = m["role"] as? String else { throw APIError.invalid("\(field).role", "'\(field).role' is required", code: "missing_required_parameter") }
            let role: ChatMessage.Role
            switch roleName {
            case "system", "developer": role = .system
            case "user": role = .user
            case "assistant": role = .assistant
            default: throw APIError.invalid("\(field).role", "role '\(roleName)' is not supported (system, developer, user, assistant)")
            }
            var message = ChatPrompt.Turn(role, "")
            switch m["content"] {
            case let text as String: message.text = text
            case let parts as [Any]:
                for (j, p) in parts.enumerated() {
                    let pf = "\(field).content[\(j)]"
                    guard let part = p as? [String: Any], let type = part["type"] as? String else {
                        throw APIError.invalid(pf, "'\(pf)' must be an object with a 'type'", code: "invalid_type")
                    }
                    switch type {
                    case "text":
                        guard let t = part["text"] as? String else { throw APIError.invalid("\(pf).text", "'\(pf).text' must be a string", code: "invalid_type") }
                        message.text += message.text.isEmpty ? t : "\n" + t
                    case "image_url":
                        guard canSee else {
                            throw APIError.invalid(pf, "this model cannot see images: its backbone is a text-only language model (serve a model folder on a Qwen2-VL backbone to send images)", code: "image_input_unsupported")
                        }
                        let url = (part["image_url"] as? [String: Any])?["url"] as? String ?? part["image_url"] as? String
                        guard let url else { throw APIError.invalid("\(pf).image_url.url", "'\(pf).image_url.url' must be a string", code: "invalid_type") }
                        message.images.append(try DataURLImage.decode(url, field: "\(pf).image_url.url"))
                    default:
                        throw APIError.invalid("\(pf).type", "content part type '\(type)' is not supported (text, image_url)")
                    }
                }
            case nil, is NSNull:
                if role != .assistant { throw APIError.invalid("\(field).content", "'\(field).content' is required", code: "missing_required_parameter") }
            default:
                throw APIError.invalid("\(field).content", "'\(field).content' must be a string or an array of parts", code: "invalid_type")
            }
            messages.append(message)
        }
        if let n = try f.int("n"), n != 1 { throw APIError.invalid("n", "only n = 1 is supported, got \(n)") }
        let maxTokens = try f.int("max_completion_tokens") ?? f.int("max_tokens") ?? 256
        guard (1...32768).contains(maxTokens) else { throw APIError.invalid("max_tokens", "'max_tokens' must be between 1 and 32768, got \(maxTokens)") }
        let temperature = try f.float("temperature") ?? 1
        guard (0...2).contains(temperature) else { throw APIError.invalid("temperature", "'temperature' must be between 0 and 2, got \(temperature)") }
        let topP = try f.float("top_p") ?? 1
        guard topP > 0 && topP <= 1 else { throw APIError.invalid("top_p", "'top_p' must be in (0, 1], got \(topP)") }
        let seed = try f.uint64("seed") ?? UInt64.random(in: 0..<(1 << 31))
        var stop: [String] = []
        if f.has("stop") {
            switch f.object["stop"] {
            case let s as String: stop = [s]
            case let list as [Any]:
                guard let strings = list as? [String], strings.count <= 4 else { throw APIError.invalid("stop", "'stop' must be a string or up to 4 strings", code: "invalid_type") }
                stop = strings
            default: throw APIError.invalid("stop", "'stop' must be a string or up to 4 strings", code: "invalid_type")
            }
        }
        let stream = try f.bool("stream") ?? false
        var includeUsage = false
        if let options = f.object["stream_options"] as? [String: Any] { includeUsage = options["include_usage"] as? Bool ?? false }
        let sampling = SamplingParameters(temperature: temperature, topK: 0, topP: topP, minP: 0, repetitionPenalty: 1, seed: seed)
        return Parsed(messages: messages, parameters: GenerationParameters(maxTokens: maxTokens, sampling: sampling), stop: stop,
                      stream: stream, includeUsage: includeUsage)
    }

    func add(to router: Router<BasicRequestContext>) {
        router.post("/v1/chat/completions") { request, context -> Response in
            let ready = try state.ready()
            let fields = try await RequestFields.read(request, limit: configuration.maxBodyBytes)
            let parsed = try Self.parse(fields, canSee: ready.chat.canSee)
            let prompt = try ready.chat.prompt(parsed.messages)
            let id = "chatcmpl-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(24)
            let created = Int(Date().timeIntervalSince1970)
            let model = ready.model.id
            let cancelled = CancelFlag()
            let events = ready.chat.generate(prompt, parameters: parsed.parameters, stop: parsed.stop, isCancelled: { cancelled.isSet })
            if parsed.stream {
                return ServerSentEvents.response { sse in
                    func chunk(_ delta: [String: Any], finish: String?) -> [String: Any] {
                        ["id": id, "object": "chat.completion.chunk", "created": created, "model": model,
                         "choices": [["index": 0, "delta": delta, "finish_reason": finish ?? NSNull()] as [String: Any]]]
                    }
                    do {
                        try await sse.send(json: chunk(["role": "assistant", "content": ""], finish: nil))
                        for await event in events {
                            switch event {
                            case .text(let text): try await sse.send(json: chunk(["content": text], finish: nil))
                            case .finished(let reason, let p, let c):
                                try await sse.send(json: chunk([:], finish: reason))
                                if parsed.includeUsage {
                                    try await sse.send(json: ["id": id, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
                                                              "usage": ["prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c]])
                                }
                            case .failed(let message):
                                try await sse.send(json: APIError(.internalServerError, "generation failed: \(message)", type: "server_error").body)
                            }
                        }
                        try await sse.send(raw: "[DONE]")
                    } catch {
                        cancelled.set()
                        throw error
                    }
                }
            }
            let outcome = try await request.drainedBody.consumeWithInboundCloseHandler { _ -> (String, String, Int, Int) in
                var text = ""
                for await event in events {
                    switch event {
                    case .text(let t): text += t
                    case .finished(let reason, let p, let c): return (text, reason, p, c)
                    case .failed(let message): throw APIError(.internalServerError, "generation failed: \(message)", type: "server_error")
                    }
                }
                throw APIError(.internalServerError, "generation ended without an answer", type: "server_error")
            } onInboundClosed: {
                cancelled.set()
            }
            context.logger.info("chat completion", metadata: ["prompt_tokens": "\(outcome.2)", "completion_tokens": "\(outcome.3)"])
            return JSON.response([
                "id": id, "object": "chat.completion", "created": created, "model": model,
                "choices": [["index": 0, "message": ["role": "assistant", "content": outcome.0], "finish_reason": outcome.1] as [String: Any]],
                "usage": ["prompt_tokens": outcome.2, "completion_tokens": outcome.3, "total_tokens": outcome.2 + outcome.3],
            ])
        }
    }
}

final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
    func set() { lock.lock(); value = true; lock.unlock() }
}
