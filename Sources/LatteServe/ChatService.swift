import Foundation
import LatteFormats
import LatteModels
import LatteTokenizers

/// Chat completions with the model's backbone language model, the way `latte chat` drives it
/// (`Backbone.chatPrompt`, `TokenGenerator`, `StreamingDetokenizer`), for OpenAI's chat messages.
/// Decoding runs on its own thread, one token at a time through the compute gate shared with image jobs.
final class ChatService: @unchecked Sendable {
    let backbone: Backbone
    private let gate: ComputeGate
    private let metrics: ServeMetrics

    init(backbone: Backbone, gate: ComputeGate, metrics: ServeMetrics) {
        (self.backbone, self.gate, self.metrics) = (backbone, gate, metrics)
    }

    var canSee: Bool { backbone.canSee }

    enum Event: Sendable {
        case text(String)
        case finished(reason: String, promptTokens: Int, completionTokens: Int)
        case failed(String)
    }

    /// The prompt for OpenAI's `messages` (the backbone's chat template, as `latte chat` builds it).
    /// Throws a 400 naming `messages` for what the model cannot take.
    func prompt(_ messages: [ChatPrompt.Turn]) throws -> ChatPrompt {
        let prompt: ChatPrompt
        do { prompt = try backbone.chatPrompt(messages) } catch {
            throw APIError.invalid("messages", "the messages cannot be used: \(error)")
        }
        guard !prompt.ids.isEmpty else { throw APIError.invalid("messages", "the messages encode to no tokens") }
        do { try backbone.languageModel.check(prompt.ids) } catch {
            throw APIError.invalid("messages", "the messages do not fit the model: \(error)", code: "context_length_exceeded")
        }
        return prompt
    }

    /// Generates on a new thread; events end with `.finished` or `.failed`. `isCancelled` is polled
    /// before every token (a departed client).
    func generate(_ prompt: ChatPrompt, parameters: GenerationParameters, stop: [String],
                  isCancelled: @escaping @Sendable () -> Bool) -> AsyncStream<Event> {
        let (stream, continuation) = AsyncStream<Event>.makeStream(bufferingPolicy: .unbounded)
        let thread = Thread { [self] in
            var matcher = StopMatcher(stops: stop)
            var detokenizer = StreamingDetokenizer(tokenizer: backbone.tokenizer)
            var count = 0
            var reason = "length"
            var parameters = parameters
            parameters.stopTokens.formUnion(prompt.stopTokens)
            do {
                let generator = try TokenGenerator(model: backbone.languageModel, prompt: prompt.ids, images: prompt.images, parameters: parameters)
                while !isCancelled() {
                    guard let id = try gate.run({ try generator.next() }) else {
                        reason = generator.statistics.generatedTokens < parameters.maxTokens ? "stop" : "length"
                        break
                    }
                    count += 1
                    let (text, hit) = matcher.push(detokenizer.push(id))
                    if !text.isEmpty { continuation.yield(.text(text)) }
                    if hit { reason = "stop"; break }
                }
                if reason != "stop" || !matcher.matched {
                    let (tail, hit) = matcher.push(detokenizer.finish())
                    let rest = hit ? tail : tail + matcher.flush()
                    if !rest.isEmpty { continuation.yield(.text(rest)) }
                    if hit { reason = "stop" }
                }
                metrics.tokensGenerated(count)
                metrics.chatCompleted()
                continuation.yield(.finished(reason: reason, promptTokens: prompt.ids.count, completionTokens: count))
            } catch {
                metrics.tokensGenerated(count)
                continuation.yield(.failed("\(error)"))
            }
            continuation.finish()
        }
        thread.name = "latte-serve-chat"
        thread.stackSize = 16 << 20
        thread.start()
        return stream
    }
}

/// Cuts generated text at the first stop string. Text that might be the start of a stop string is held
/// back until it is known not to be, so a stream never shows part of a stop string.
struct StopMatcher {
    let stops: [String]
    private var held = ""
    private(set) var matched = false

    init(stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// Text safe to emit now, and whether a stop string was reached (nothing after it is emitted).
    mutating func push(_ text: String) -> (String, Bool) {
        guard !matched else { return ("", true) }
        guard !stops.isEmpty else { return (text, false) }
        held += text
        if let range = stops.compactMap({ held.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            matched = true
            let out = String(held[..<range.lowerBound])
            held = ""
            return (out, true)
        }
        // Keep the longest suffix of `held` that is a proper prefix of a stop string.
        var keep = 0
        for stop in stops {
            for n in stride(from: min(stop.count - 1, held.count), to: 0, by: -1) where held.hasSuffix(String(stop.prefix(n))) {
                keep = max(keep, n)
                break
            }
        }
        let out = String(held.dropLast(keep))
        held = String(held.suffix(keep))
        return (out, false)
    }

    /// What is still held back, at the end of generation.
    mutating func flush() -> String {
        defer { held = "" }
        return matched ? "" : held
    }
}
