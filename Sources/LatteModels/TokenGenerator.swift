import Foundation
import LatteNN
import LatteTensor

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

/// Generates token ids one at a time from any `CausalLanguageModel`: the prompt (with its images, for a
/// vision-language model) is prefilled once into a KV cache, then every step decodes only the newest
/// token. Stops before a stop token, or after `maxTokens`.
///
/// Errors are thrown, never trapped: a prompt the model cannot take (empty, an id outside the
/// vocabulary, longer than the context) from `init`; images that do not match their placeholder
/// tokens, or a continuation that would overflow the context, from `next()`.
public final class TokenGenerator {
    public let model: any CausalLanguageModel
    public let parameters: GenerationParameters
    public private(set) var statistics = GenerationStatistics()
    private let cache: KVCache
    private var sampler: TokenSampler
    private var history: [Int]
    private var images: Qwen2VLVisionInput?
    private var last: Int?
    private var finished = false

    public init(model: any CausalLanguageModel, prompt: [Int], images: Qwen2VLVisionInput? = nil,
                parameters: GenerationParameters = .init()) throws {
        try model.check(prompt)
        self.model = model
        self.parameters = parameters
        self.images = images
        cache = model.makeCache()
        sampler = TokenSampler(parameters.sampling)
        history = prompt
        statistics.promptTokens = prompt.count
    }

    /// The next token id, or nil once generation has ended.
    public func next() throws -> Int? {
        guard !finished, statistics.generatedTokens < parameters.maxTokens else { finished = true; return nil }
        let start = DispatchTime.now().uptimeNanoseconds
        let logits: Tensor
        do {
            if let last { logits = try model.decode([last], cache: cache, lastOnly: true) }
            else { logits = try model.prefill(history, images: images, cache: cache, lastOnly: true) }
        } catch {
            finished = true
            throw error
        }
        images = nil
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

    /// Every token still to come, until a stop token or `maxTokens`.
    public func collect() throws -> [Int] {
        var ids: [Int] = []
        while let id = try next() { ids.append(id) }
        return ids
    }
}
