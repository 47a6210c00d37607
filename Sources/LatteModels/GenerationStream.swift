import Foundation
import LatteTokenizers

public enum GenerationEvent: Sendable {
    /// Newly completed text (may be several tokens' worth, or follow a multi-byte character's last token).
    case text(String)
    case finished(GenerationStatistics)
}

extension CausalLanguageModel {
    /// Generates on a background thread and streams text chunks, then the statistics; a prompt the
    /// model cannot take ends the stream with its error. Stopping early: cancel the consuming task (the
    /// stream's termination stops generation after the current token).
    public func generate(prompt: [Int], images: Qwen2VLVisionInput? = nil, tokenizer: Tokenizer,
                         parameters: GenerationParameters = .init()) -> AsyncThrowingStream<GenerationEvent, Error> {
        let job = GenerationThread(model: self, prompt: prompt, images: images, tokenizer: tokenizer, parameters: parameters)
        return AsyncThrowingStream { continuation in
            continuation.onTermination = { _ in job.cancel() }
            job.start(continuation)
        }
    }

    /// The text chunks of `generate(prompt:images:tokenizer:parameters:)` only.
    public func generateText(prompt: [Int], images: Qwen2VLVisionInput? = nil, tokenizer: Tokenizer,
                             parameters: GenerationParameters = .init()) -> AsyncThrowingStream<String, Error> {
        let events = generate(prompt: prompt, images: images, tokenizer: tokenizer, parameters: parameters)
        return AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    for try await event in events { if case .text(let s) = event { continuation.yield(s) } }
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// One generation on its own thread: decoding is long CPU work that must not hold one of Swift's few
/// cooperative threads. `@unchecked Sendable` because the model, tokenizer and images, which are not
/// Sendable, are touched only by that thread once it starts; the cancel flag is behind a lock.
private final class GenerationThread: @unchecked Sendable {
    private let model: any CausalLanguageModel
    private let prompt: [Int]
    private let images: Qwen2VLVisionInput?
    private let tokenizer: Tokenizer
    private let parameters: GenerationParameters
    private let lock = NSLock()
    private var cancelled = false

    init(model: any CausalLanguageModel, prompt: [Int], images: Qwen2VLVisionInput?, tokenizer: Tokenizer, parameters: GenerationParameters) {
        (self.model, self.prompt, self.images, self.tokenizer, self.parameters) = (model, prompt, images, tokenizer, parameters)
    }

    func cancel() { lock.lock(); cancelled = true; lock.unlock() }

    private var isCancelled: Bool { lock.lock(); defer { lock.unlock() }; return cancelled }

    func start(_ continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation) {
        let thread = Thread { self.run(continuation) }
        thread.stackSize = 8 << 20
        thread.start()
    }

    private func run(_ continuation: AsyncThrowingStream<GenerationEvent, Error>.Continuation) {
        var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
        do {
            let generator = try TokenGenerator(model: model, prompt: prompt, images: images, parameters: parameters)
            while !isCancelled, let id = try generator.next() {
                let text = detokenizer.push(id)
                if !text.isEmpty { continuation.yield(.text(text)) }
            }
            let rest = detokenizer.finish()
            if !rest.isEmpty { continuation.yield(.text(rest)) }
            continuation.yield(.finished(generator.statistics))
            continuation.finish()
        } catch {
            // Text decoded so far has been delivered; the error ends the stream.
            let rest = detokenizer.finish()
            if !rest.isEmpty { continuation.yield(.text(rest)) }
            continuation.finish(throwing: error)
        }
    }
}
