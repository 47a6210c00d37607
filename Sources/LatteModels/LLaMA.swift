import Foundation
import LatteNN
import LatteTensor

// MARK: - Configuration

/// A LLaMA-family decoder's hyper-parameters, read from a Hugging Face `config.json` (snake_case keys,
/// transformers' defaults for absent ones) or from GGUF `llama.*` metadata (`init(gguf:)`).
public struct LLaMAConfiguration: Codable, Sendable, Equatable {
    /// Llama-3's long-context frequency scaling (`rope_type: "llama3"`).
    public struct Llama3RopeScaling: Codable, Sendable, Equatable {
        public var factor: Float
        public var lowFrequencyFactor: Float
        public var highFrequencyFactor: Float
        public var originalMaxPositionEmbeddings: Int

        enum CodingKeys: String, CodingKey {
            case factor
            case lowFrequencyFactor = "low_freq_factor"
            case highFrequencyFactor = "high_freq_factor"
            case originalMaxPositionEmbeddings = "original_max_position_embeddings"
            case ropeType = "rope_type"
        }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(factor: try c.decode(Float.self, forKey: .factor),
                      lowFrequencyFactor: try c.decode(Float.self, forKey: .lowFrequencyFactor),
                      highFrequencyFactor: try c.decode(Float.self, forKey: .highFrequencyFactor),
                      originalMaxPositionEmbeddings: try c.decode(Int.self, forKey: .originalMaxPositionEmbeddings))
        }

        /// Written with its `rope_type`, so a saved configuration reads back with the scaling.
        public func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode("llama3", forKey: .ropeType)
            try c.encode(factor, forKey: .factor)
            try c.encode(lowFrequencyFactor, forKey: .lowFrequencyFactor)
            try c.encode(highFrequencyFactor, forKey: .highFrequencyFactor)
            try c.encode(originalMaxPositionEmbeddings, forKey: .originalMaxPositionEmbeddings)
        }

        public init(factor: Float, lowFrequencyFactor: Float, highFrequencyFactor: Float, originalMaxPositionEmbeddings: Int) {
            (self.factor, self.lowFrequencyFactor, self.highFrequencyFactor, self.originalMaxPositionEmbeddings) =
                (factor, lowFrequencyFactor, highFrequencyFactor, originalMaxPositionEmbeddings)
        }
    }

    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var headDim: Int
    public var vocabularySize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    public var ropeScaling: Llama3RopeScaling?
    public var tieWordEmbeddings: Bool
    public var maxPositionEmbeddings: Int

    public init(hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int? = nil,
                headDim: Int? = nil, vocabularySize: Int, rmsNormEps: Float = 1e-6, ropeTheta: Float = 10000,
                ropeScaling: Llama3RopeScaling? = nil, tieWordEmbeddings: Bool = false, maxPositionEmbeddings: Int = 2048) {
        self.hiddenSize = hiddenSize
        self.intermediateSize = intermediateSize
        self.layerCount = layerCount
        self.headCount = headCount
        self.kvHeadCount = kvHeadCount ?? headCount
        self.headDim = headDim ?? hiddenSize / max(headCount, 1)
        self.vocabularySize = vocabularySize
        self.rmsNormEps = rmsNormEps
        self.ropeTheta = ropeTheta
        self.ropeScaling = ropeScaling
        self.tieWordEmbeddings = tieWordEmbeddings
        self.maxPositionEmbeddings = maxPositionEmbeddings
    }

    enum CodingKeys: String, CodingKey {
        case hiddenSize = "hidden_size", intermediateSize = "intermediate_size", layerCount = "num_hidden_layers"
        case headCount = "num_attention_heads", kvHeadCount = "num_key_value_heads", headDim = "head_dim"
        case vocabularySize = "vocab_size", rmsNormEps = "rms_norm_eps", ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling", ropeParameters = "rope_parameters"
        case tieWordEmbeddings = "tie_word_embeddings", maxPositionEmbeddings = "max_position_embeddings"
        case attentionBias = "attention_bias", mlpBias = "mlp_bias", hiddenAct = "hidden_act"
    }

    /// transformers ≤ 4 writes `rope_theta` and `rope_scaling`; 5.x writes both inside `rope_parameters`.
    private struct RopeParameters: Decodable {
        var ropeType: String?
        var type: String?
        var ropeTheta: Float?
        enum CodingKeys: String, CodingKey { case ropeType = "rope_type", type, ropeTheta = "rope_theta" }
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(hiddenSize: try c.decode(Int.self, forKey: .hiddenSize),
                  intermediateSize: try c.decode(Int.self, forKey: .intermediateSize),
                  layerCount: try c.decode(Int.self, forKey: .layerCount),
                  headCount: try c.decode(Int.self, forKey: .headCount),
                  kvHeadCount: try c.decodeIfPresent(Int.self, forKey: .kvHeadCount),
                  headDim: try c.decodeIfPresent(Int.self, forKey: .headDim),
                  vocabularySize: try c.decode(Int.self, forKey: .vocabularySize),
                  rmsNormEps: try c.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6,
                  ropeTheta: try c.decodeIfPresent(Float.self, forKey: .ropeTheta) ?? 10000,
                  tieWordEmbeddings: try c.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false,
                  maxPositionEmbeddings: try c.decodeIfPresent(Int.self, forKey: .maxPositionEmbeddings) ?? 2048)
        // Features this implementation lacks are refused, never silently ignored.
        if try c.decodeIfPresent(Bool.self, forKey: .attentionBias) == true || c.decodeIfPresent(Bool.self, forKey: .mlpBias) == true {
            throw DecodingError.dataCorrupted(.init(codingPath: [], debugDescription: "attention_bias / mlp_bias are not supported for LLaMA"))
        }
        if let act = try c.decodeIfPresent(String.self, forKey: .hiddenAct), act != "silu" {
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.hiddenAct], debugDescription: "hidden_act '\(act)' is not supported (silu only)"))
        }
        for key in [CodingKeys.ropeParameters, .ropeScaling] where c.contains(key) {
            guard try !c.decodeNil(forKey: key) else { continue }
            let p = try c.decode(RopeParameters.self, forKey: key)
            if let theta = p.ropeTheta { ropeTheta = theta }
            switch p.ropeType ?? p.type ?? "default" {
            case "default": break
            case "llama3": ropeScaling = try c.decode(Llama3RopeScaling.self, forKey: key)
            case let other:
                throw DecodingError.dataCorrupted(.init(codingPath: [key], debugDescription: "rope type '\(other)' is not supported (default, llama3)"))
            }
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(hiddenSize, forKey: .hiddenSize)
        try c.encode(intermediateSize, forKey: .intermediateSize)
        try c.encode(layerCount, forKey: .layerCount)
        try c.encode(headCount, forKey: .headCount)
        try c.encode(kvHeadCount, forKey: .kvHeadCount)
        try c.encode(headDim, forKey: .headDim)
        try c.encode(vocabularySize, forKey: .vocabularySize)
        try c.encode(rmsNormEps, forKey: .rmsNormEps)
        try c.encode(ropeTheta, forKey: .ropeTheta)
        try c.encodeIfPresent(ropeScaling, forKey: .ropeScaling)
        try c.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try c.encode(maxPositionEmbeddings, forKey: .maxPositionEmbeddings)
    }

    /// Checks that the sizes fit together; the message names the source.
    public func validate(source: String) throws {
        func fail(_ m: String) -> LLaMAError { LLaMAError(file: source, m) }
        guard hiddenSize > 0, intermediateSize > 0, layerCount > 0, headCount > 0, kvHeadCount > 0, headDim > 0, vocabularySize > 0 else {
            throw fail("sizes must be positive (hidden \(hiddenSize), intermediate \(intermediateSize), layers \(layerCount), heads \(headCount)/\(kvHeadCount), head dim \(headDim), vocabulary \(vocabularySize))")
        }
        guard headCount % kvHeadCount == 0 else { throw fail("\(headCount) attention heads are not a multiple of \(kvHeadCount) KV heads") }
        guard headDim % 2 == 0 else { throw fail("head_dim \(headDim) must be even for rotary embeddings") }
        guard ropeTheta > 0, rmsNormEps > 0 else { throw fail("rope_theta and rms_norm_eps must be positive") }
    }

    /// RoPE inverse frequencies, with Llama-3 scaling when configured (as transformers'
    /// `_compute_llama3_parameters`: long wavelengths divided by `factor`, short ones kept, a smooth
    /// blend between).
    public var inverseFrequencies: [Float] {
        let base = Rotary.inverseFrequencies(headDim: headDim, theta: ropeTheta)
        guard let s = ropeScaling else { return base }
        let old = Float(s.originalMaxPositionEmbeddings)
        let lowWavelength = old / s.lowFrequencyFactor, highWavelength = old / s.highFrequencyFactor
        return base.map { f in
            let wavelength = 2 * Float.pi / f
            if wavelength < highWavelength { return f }
            if wavelength > lowWavelength { return f / s.factor }
            let smooth = (old / wavelength - s.lowFrequencyFactor) / (s.highFrequencyFactor - s.lowFrequencyFactor)
            return (1 - smooth) * f / s.factor + smooth * f
        }
    }
}

/// A model file or folder that cannot be used; the message names the file and the problem.
public struct LLaMAError: Error, CustomStringConvertible, LocalizedError, Sendable {
    public let file: String
    public let message: String
    public init(file: String, _ message: String) { (self.file, self.message) = (file, message) }
    public var description: String { "\(file): \(message)" }
    public var errorDescription: String? { description }
}

// MARK: - Model

/// A LLaMA-family causal language model (LlamaForCausalLM) whose parameter keys are the HF
/// checkpoint's. `init(configuration:)` makes placeholders; `LLaMAModel.load(from:)` reads weights.
/// Decoding, generation and prompt keys come from `CausalLanguageModel`; this file holds what is
/// LLaMA's own: 1-D RoPE (with Llama-3 scaling) and the output head, tied or not.
public final class LLaMAModel: Module {
    public let model: DecoderStack
    /// nil when the output projection is tied to `model.embed_tokens`.
    public let lm_head: Linear?
    public let configuration: LLaMAConfiguration
    private let inverseFrequencies: [Float]

    public init(configuration c: LLaMAConfiguration) {
        configuration = c
        model = DecoderStack(.init(vocabularySize: c.vocabularySize, hiddenSize: c.hiddenSize, intermediateSize: c.intermediateSize,
                                   layerCount: c.layerCount, headCount: c.headCount, kvHeadCount: c.kvHeadCount, headDim: c.headDim,
                                   rmsNormEps: c.rmsNormEps, qkvBias: false))
        lm_head = c.tieWordEmbeddings ? nil : Linear(c.hiddenSize, c.vocabularySize, bias: false)
        inverseFrequencies = c.inverseFrequencies
    }

    /// Logits [B, T, vocab] of `tokens` [B, T] under a causal mask (positions after the cache's).
    public func callAsFunction(_ tokens: Tensor, cache: KVCache? = nil) -> Tensor {
        logits(hiddenStates(tokens, cache: cache))
    }
}

extension LLaMAModel: CausalLanguageModel {
    public var geometry: LanguageModelGeometry {
        let c = configuration
        return LanguageModelGeometry(layerCount: c.layerCount, kvHeadCount: c.kvHeadCount, headDim: c.headDim, hiddenSize: c.hiddenSize,
                                     vocabularySize: c.vocabularySize, contextLength: c.maxPositionEmbeddings)
    }

    /// Final hidden states [B, T, hidden] (after the last norm) of `tokens` [B, T] (integer tensor),
    /// at positions following what `cache` holds; the new keys and values are appended to it.
    public func hiddenStates(_ tokens: Tensor, cache: KVCache? = nil) -> Tensor {
        precondition(tokens.rank == 2, "LLaMA expects token ids [B, T], got \(tokens.shape)")
        return hiddenStates(embeddings: model.embed(tokens), cache: cache)
    }

    /// Input embeddings [B, T, hidden] of `tokens` [B, T]: what `hiddenStates` starts from, and what
    /// image tokens replace rows of (`ImageTokenInsertion`).
    public func inputEmbeddings(_ tokens: Tensor) -> Tensor {
        precondition(tokens.rank == 2, "LLaMA expects token ids [B, T], got \(tokens.shape)")
        return model.embed(tokens)
    }

    /// Final hidden states [B, T, hidden] of input embeddings [B, T, hidden] (text rows from
    /// `inputEmbeddings`, image rows from a projector) at positions following what `cache` holds.
    public func hiddenStates(embeddings: Tensor, cache: KVCache? = nil) -> Tensor {
        precondition(embeddings.rank == 3 && embeddings.shape[2] == configuration.hiddenSize,
                     "LLaMA expects embeddings [B, T, \(configuration.hiddenSize)], got \(embeddings.shape)")
        let start = cache?.nextPosition ?? 0
        let rotary = Rotary.tables(positions: Array(start..<(start + embeddings.shape[1])), headDim: configuration.headDim,
                                   theta: configuration.ropeTheta, inverseFrequencies: inverseFrequencies)
        return model(embeddings: embeddings, rotary: rotary, cache: cache)
    }

    /// Logits over the vocabulary for hidden states […, hidden].
    public func logits(_ hidden: Tensor) -> Tensor {
        if let lm_head { return lm_head(hidden) }
        return model.embed_tokens.asLinear(hidden)
    }
}
