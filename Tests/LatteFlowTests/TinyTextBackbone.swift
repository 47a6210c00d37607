import Foundation
import LatteFlow
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers

/// A tiny random LLaMA with a character tokenizer that knows `<|im_start|>`: a frozen backbone for the
/// prompt table and whole training runs, with the tiny generator's geometry (4 layers, 2 K/V heads of 8).
enum TinyTextBackbone {
    /// Lowercase letters, space and a few signs, one token each; `<|im_start|>` is the last id.
    static let characters = Array("abcdefghijklmnopqrstuvwxyz ,.-'")
    static var vocabularySize: Int { characters.count + 1 }

    static func tokenizerJSON() -> Data {
        let vocab = characters.enumerated().map { "\"\($1)\": \($0)" }.joined(separator: ", ")
        let start = characters.count
        return Data((#"{"version": "1.0", "added_tokens": [{"id": "# + "\(start)" + #", "content": "<|im_start|>", "special": true}], "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null, "model": {"type": "BPE", "vocab": {"# + vocab + #", "<|im_start|>": "# + "\(start)" + #"}, "merges": []}}"#).utf8)
    }

    static func tokenizer() throws -> Tokenizer { try Tokenizer(jsonData: tokenizerJSON(), file: "tiny-characters.json") }

    static func tokens() throws -> PromptTokens { try PromptTokens(tokenizer: tokenizer(), startToken: "<|im_start|>") }

    static let configuration = LLaMAConfiguration(hiddenSize: 32, intermediateSize: 48, layerCount: 4, headCount: 4, kvHeadCount: 2,
                                                  headDim: 8, vocabularySize: vocabularySize, rmsNormEps: 1e-5, ropeTheta: 100)

    static func model(seed: UInt64 = 3) -> LLaMAModel {
        let m = LLaMAModel(configuration: configuration)
        var g = RandomGenerator(seed: seed)
        for (_, p) in m.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.3, generator: &g)) }
        return m
    }

    /// A Hugging Face folder (config.json, model.safetensors, tokenizer.json) of `model(seed:)`, as
    /// `latte train --backbone DIR` takes it.
    static func folder(in parent: URL, seed: UInt64 = 3) throws -> URL {
        let dir = parent.appendingPathComponent("tiny-backbone")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let c = configuration
        let config = """
        {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": \(c.hiddenSize),
         "intermediate_size": \(c.intermediateSize), "num_hidden_layers": \(c.layerCount), "num_attention_heads": \(c.headCount),
         "num_key_value_heads": \(c.kvHeadCount), "head_dim": \(c.headDim), "vocab_size": \(c.vocabularySize),
         "rms_norm_eps": 1e-05, "rope_theta": \(c.ropeTheta), "max_position_embeddings": 256, "tie_word_embeddings": false,
         "hidden_act": "silu", "attention_bias": false, "mlp_bias": false}
        """
        try Data(config.utf8).write(to: dir.appendingPathComponent("config.json"))
        try Safetensors.write(model(seed: seed).parameterTensors(), metadata: [:], to: dir.appendingPathComponent("model.safetensors"))
        try tokenizerJSON().write(to: dir.appendingPathComponent("tokenizer.json"))
        return dir
    }
}

/// A backbone that counts the prompts it prefills (each distinct prompt must cost one).
final class CountingBackbone: PromptBackbone {
    let base: LLaMAModel
    private(set) var prefilled = 0

    init(_ base: LLaMAModel) { self.base = base }

    var promptLayerCount: Int { base.promptLayerCount }
    var promptKVHeads: Int { base.promptKVHeads }
    var promptHeadDim: Int { base.promptHeadDim }
    var promptRopeTheta: Float { base.promptRopeTheta }

    func prefill(prompts: [[Int]]) -> (keys: [Tensor], values: [Tensor], lengths: [Int]) {
        prefilled += prompts.count
        return base.prefill(prompts: prompts)
    }
}
