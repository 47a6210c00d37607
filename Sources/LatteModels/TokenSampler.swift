import Foundation
import LatteTensor

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
