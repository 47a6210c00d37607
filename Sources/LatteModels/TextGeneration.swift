import Foundation
import LatteTensor
import LatteTokenizers

// MARK: - Parameters

/// How the next token is chosen. Temperature 0 is greedy (argmax); otherwise the filters apply in the
/// order transformers' logits processors do: repetition penalty, temperature, top-k, top-p, min-p.
public struct SamplingParameters: Sendable, Equatable {
    public var temperature: Float
    /// Keep the k most likely tokens (0: all).
    public var topK: Int
    /// Keep the smallest set of most likely tokens whose probability reaches p (1: all).
    public var topP: Float
    /// Drop tokens less likely than minP × the top token's probability (0: none).
    public var minP: Float
    /// CTRL's penalty on tokens already in the prompt or output (1: none): positive logits divided, negative multiplied.
    public var repetitionPenalty: Float
    public var seed: UInt64

    public init(temperature: Float = 0, topK: Int = 0, topP: Float = 1, minP: Float = 0,
                repetitionPenalty: Float = 1, seed: UInt64 = 0) {
        (self.temperature, self.topK, self.topP, self.minP, self.repetitionPenalty, self.seed) =
            (temperature, topK, topP, minP, repetitionPenalty, seed)
    }
}

public struct GenerationParameters: Sendable, Equatable {
    public var maxTokens: Int
    public var sampling: SamplingParameters
    /// Generation ends before any of these ids (it is not returned).
    public var stopTokens: Set<Int>

    public init(maxTokens: Int = 256, sampling: SamplingParameters = .init(), stopTokens: Set<Int> = []) {
        (self.maxTokens, self.sampling, self.stopTokens) = (maxTokens, sampling, stopTokens)
    }
}

public struct GenerationStatistics: Sendable, Equatable {
    public var promptTokens = 0
    public var generatedTokens = 0
    public var promptSeconds = 0.0
    /// Time spent on the tokens after the first (each one a single-token decode step).
    public var decodeSeconds = 0.0
    public var promptTokensPerSecond: Double { promptSeconds > 0 ? Double(promptTokens) / promptSeconds : 0 }
    public var generatedTokensPerSecond: Double {
        decodeSeconds > 0 ? Double(max(generatedTokens - 1, 0)) / decodeSeconds : 0
    }
}

// MARK: - Sampling

/// Chooses token ids from logits with a seeded generator, so a seed reproduces a run.
public struct TokenSampler {
    public let parameters: SamplingParameters
    public private(set) var generator: RandomGenerator

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        generator = RandomGenerator(seed: parameters.seed)
    }

    /// The next id from `logits` (one row over the vocabulary); `history` feeds the repetition penalty.
    public mutating func sample(_ logits: UnsafeBufferPointer<Float>, history: [Int] = []) -> Int {
        let p = parameters
        precondition(!logits.isEmpty, "sampling from empty logits")
        var penalised: [Int: Float] = [:]
        if p.repetitionPenalty != 1 {
            for id in Set(history) where id >= 0 && id < logits.count {
                let l = logits[id]
                penalised[id] = l > 0 ? l / p.repetitionPenalty : l * p.repetitionPenalty
            }
        }
        @inline(__always) func logit(_ i: Int) -> Float { penalised[i] ?? logits[i] }

        if p.temperature <= 0 {
            var best = 0, bestValue = -Float.infinity
            for i in 0..<logits.count where logit(i) > bestValue { (best, bestValue) = (i, logit(i)) }
            return best
        }
        // Candidates sorted by logit (descending); ties keep the lower id first, as a stable sort would.
        var candidates = Array(0..<logits.count)
        if p.topK > 0 && p.topK < candidates.count {
            candidates = Array(candidates.sorted { logit($0) > logit($1) || (logit($0) == logit($1) && $0 < $1) }.prefix(p.topK))
        } else if p.topP < 1 || p.minP > 0 {
            candidates.sort { logit($0) > logit($1) || (logit($0) == logit($1) && $0 < $1) }
        }
        let maxLogit = candidates.reduce(-Float.infinity) { max($0, logit($1)) }
        var weights = candidates.map { Foundation.exp(Double((logit($0) - maxLogit) / p.temperature)) }
        let total = weights.reduce(0, +)
        var keep = weights.count
        if p.topP < 1 {
            // Sorted descending: keep until the cumulative probability reaches topP (at least one).
            var cumulative = 0.0
            for (i, w) in weights.enumerated() {
                cumulative += w / total
                if cumulative >= Double(p.topP) { keep = i + 1; break }
            }
        }
        if p.minP > 0, let top = weights.first {
            keep = min(keep, max(1, weights.prefix(keep).firstIndex { $0 < Double(p.minP) * top } ?? keep))
        }
        weights.removeLast(weights.count - keep)
        let kept = weights.reduce(0, +)
        var u = Double(generator.nextFloat()) * kept
        for (i, w) in weights.enumerated() {
            u -= w
            if u < 0 { return candidates[i] }
        }
        return candidates[keep - 1]
    }
}

// MARK: - Token iterator

/// Yields generated token ids one at a time: the prompt is prefilled once into a KV cache, then every
/// step decodes only the newest token. Stops before a stop token, or after `maxTokens`.
public final class TokenGenerator: Sequence, IteratorProtocol {
    public let model: LLaMAModel
    public let parameters: GenerationParameters
    public private(set) var statistics = GenerationStatistics()
    private let cache: KVCache
    private var sampler: TokenSampler
    private var history: [Int]
    private var pending: [Int]
    private var finished = false

    public init(model: LLaMAModel, prompt: [Int], parameters: GenerationParameters = .init()) {
        precondition(!prompt.isEmpty, "generation needs at least one prompt token")
        self.model = model
        self.parameters = parameters
        cache = model.makeCache()
        sampler = TokenSampler(parameters.sampling)
        history = prompt
        pending = prompt
        statistics.promptTokens = prompt.count
    }

    public func next() -> Int? {
        guard !finished, statistics.generatedTokens < parameters.maxTokens else { finished = true; return nil }
        if let bad = pending.first(where: { $0 < 0 || $0 >= model.configuration.vocabularySize }) {
            preconditionFailure("token id \(bad) is outside the model's vocabulary of \(model.configuration.vocabularySize)")
        }
        let start = DispatchTime.now().uptimeNanoseconds
        let logits = withoutGradient { model.lastLogits(Tensor(indices: pending, shape: [1, pending.count]), cache: cache) }
        let row = logits.contiguous()
        let id = withExtendedLifetime(row) {
            sampler.sample(UnsafeBufferPointer(start: row.f32, count: row.count), history: history)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if statistics.generatedTokens == 0 { statistics.promptSeconds += seconds } else { statistics.decodeSeconds += seconds }
        if parameters.stopTokens.contains(id) { finished = true; return nil }
        statistics.generatedTokens += 1
        history.append(id)
        pending = [id]
        return id
    }
}

// MARK: - Text streams

public enum GenerationEvent: Sendable {
    /// Newly completed text (may be several tokens' worth, or follow a multi-byte character's last token).
    case text(String)
    case finished(GenerationStatistics)
}

extension LLaMAModel {
    /// Generates on a background thread and streams text chunks, then the statistics. Stopping early:
    /// cancel the consuming task (the stream's termination stops generation after the current token).
    public func generate(prompt: [Int], tokenizer: Tokenizer, parameters: GenerationParameters = .init()) -> AsyncStream<GenerationEvent> {
        let box = UncheckedBox((self, tokenizer))
        return AsyncStream { continuation in
            let cancelled = CancelFlag()
            continuation.onTermination = { _ in cancelled.set() }
            let thread = Thread {
                let (model, tokenizer) = box.value
                let generator = TokenGenerator(model: model, prompt: prompt, parameters: parameters)
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

    /// The text chunks of `generate(prompt:tokenizer:parameters:)` only.
    public func generateText(prompt: [Int], tokenizer: Tokenizer, parameters: GenerationParameters = .init()) -> AsyncStream<String> {
        let events = generate(prompt: prompt, tokenizer: tokenizer, parameters: parameters)
        return AsyncStream { continuation in
            let task = Task {
                for await event in events { if case .text(let s) = event { continuation.yield(s) } }
                continuation.finish()
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}

/// The model and tokenizer are only touched by the generating thread once handed over.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

private final class CancelFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.lock(); value = true; lock.unlock() }
    var isSet: Bool { lock.lock(); defer { lock.unlock() }; return value }
}
