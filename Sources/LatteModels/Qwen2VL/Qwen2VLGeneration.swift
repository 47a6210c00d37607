import Foundation
import LatteTensor
import LatteTokenizers

// MARK: - Generation

/// Yields generated token ids for a Qwen2-VL prompt (text and images): the prompt, with the vision
/// tower, runs once into the KV cache; then each step decodes only the newest token. Stops before a
/// stop token or after `maxTokens` (the same contract as `TokenGenerator`).
public final class Qwen2VLTokenGenerator: Sequence, IteratorProtocol {
    public let session: Qwen2VLSession
    public let parameters: GenerationParameters
    public private(set) var statistics = GenerationStatistics()
    private let prompt: [Int]
    private let vision: Qwen2VLVisionInput?
    private var sampler: TokenSampler
    private var history: [Int]
    private var last: Int?
    private var finished = false
    /// A prompt the model rejected (token ids, image placeholders): the first `next()` ends with it.
    public private(set) var error: Error?

    public init(model: Qwen2VLModel, prompt: [Int], vision: Qwen2VLVisionInput? = nil, parameters: GenerationParameters = .init()) {
        session = model.makeSession()
        self.parameters = parameters
        self.prompt = prompt
        self.vision = vision
        sampler = TokenSampler(parameters.sampling)
        history = prompt
        statistics.promptTokens = prompt.count
    }

    public func next() -> Int? {
        guard !finished, statistics.generatedTokens < parameters.maxTokens else { finished = true; return nil }
        let start = DispatchTime.now().uptimeNanoseconds
        let logits: Tensor
        do {
            logits = try withoutGradient {
                if let last { return try session.decode([last], lastOnly: true) }
                return try session.prefill(tokens: prompt, vision: vision, lastOnly: true)
            }
        } catch {
            self.error = error
            finished = true
            return nil
        }
        let row = logits.contiguous()
        let id = withExtendedLifetime(row) {
            sampler.sample(UnsafeBufferPointer(start: row.f32, count: row.count), history: history)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if last == nil { statistics.promptSeconds += seconds } else { statistics.decodeSeconds += seconds }
        if parameters.stopTokens.contains(id) { finished = true; return nil }
        statistics.generatedTokens += 1
        history.append(id)
        last = id
        return id
    }
}

extension Qwen2VLModel {
    /// Generates on a background thread and streams text chunks, then the statistics (as
    /// `LLaMAModel.generate`). Cancelling the consuming task stops generation after the current token.
    public func generate(prompt: [Int], vision: Qwen2VLVisionInput? = nil, tokenizer: Tokenizer,
                         parameters: GenerationParameters = .init()) -> AsyncStream<GenerationEvent> {
        let box = Qwen2VLUncheckedBox((self, tokenizer, vision))
        return AsyncStream { continuation in
            let cancelled = Qwen2VLCancelFlag()
            continuation.onTermination = { _ in cancelled.set() }
            let thread = Thread {
                let (model, tokenizer, vision) = box.value
                let generator = Qwen2VLTokenGenerator(model: model, prompt: prompt, vision: vision, parameters: parameters)
                var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
                while !cancelled.isSet, let id = generator.next() {
                    let text = detokenizer.push(id)
                    if !text.isEmpty { continuation.yield(.text(text)) }
                }
                let rest = detokenizer.finish()
                if !rest.isEmpty { continuation.yield(.text(rest)) }
                continuation.yield(.finished(generator.statistics))
                continuation.finish()
            }
            thread.stackSize = 8 << 20
            thread.start()
        }
    }
}

/// The model, tokenizer and images are only touched by the generating thread once handed over.
private struct Qwen2VLUncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

private final class Qwen2VLCancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
