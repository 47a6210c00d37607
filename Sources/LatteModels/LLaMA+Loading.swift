import Foundation
import LatteFormats
import LatteNN
import LatteTensor

// MARK: - Loading

extension LLaMAConfiguration {
    /// From a GGUF file's `llama.*` metadata. The output projection is tied when the file has no
    /// `output.weight` (llama.cpp drops it for tied models).
    public init(gguf: GGUFFile) throws {
        let arch = gguf.metadata["general.architecture"]?.string
        guard arch == "llama" else {
            throw LLaMAError(file: gguf.path, "general.architecture is \(arch.map { "'\($0)'" } ?? "absent"), expected 'llama'")
        }
        func int(_ key: String) -> Int? { gguf.metadata["llama.\(key)"]?.int }
        let hidden = try gguf.requireInt("llama.embedding_length")
        let heads = try gguf.requireInt("llama.attention.head_count")
        var vocabulary = int("vocab_size")
        if vocabulary == nil, let embed = try? gguf.tensorInfo(named: "token_embd.weight") { vocabulary = embed.shape[0] }
        guard let vocabulary else { throw LLaMAError(file: gguf.path, "neither llama.vocab_size nor token_embd.weight gives the vocabulary size") }
        self.init(hiddenSize: hidden, intermediateSize: try gguf.requireInt("llama.feed_forward_length"),
                  layerCount: try gguf.requireInt("llama.block_count"), headCount: heads,
                  kvHeadCount: int("attention.head_count_kv"), headDim: int("rope.dimension_count") ?? int("attention.key_length"),
                  vocabularySize: vocabulary,
                  rmsNormEps: gguf.metadata["llama.attention.layer_norm_rms_epsilon"]?.float ?? 1e-5,
                  ropeTheta: gguf.metadata["llama.rope.freq_base"]?.float ?? 10000,
                  tieWordEmbeddings: !gguf.hasTensor(named: "output.weight"),
                  maxPositionEmbeddings: int("context_length") ?? 2048)
        if let type = gguf.metadata["llama.rope.scaling.type"]?.string, type != "none" {
            throw LLaMAError(file: gguf.path, "rope scaling '\(type)' in GGUF metadata is not supported")
        }
        try validate(source: gguf.path)
    }

    /// From an HF `config.json`.
    public init(configJSON url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LLaMAError(file: url.path, "cannot read: \(error.localizedDescription)")
        }
        do {
            self = try JSONDecoder().decode(LLaMAConfiguration.self, from: data)
        } catch let e as DecodingError {
            throw LLaMAError(file: url.path, "not a usable LLaMA config: \(Self.describe(e))")
        }
        try validate(source: url.path)
    }

    private static func describe(_ e: DecodingError) -> String {
        switch e {
        case .keyNotFound(let k, _): return "missing key '\(k.stringValue)'"
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            let path = c.codingPath.map(\.stringValue).joined(separator: ".")
            return (path.isEmpty ? "" : "'\(path)': ") + c.debugDescription
        @unknown default: return "\(e)"
        }
    }
}

extension LLaMAModel {
    /// Loads a GGUF file (`*.gguf`) or a Hugging Face folder (config.json with model.safetensors, or a
    /// sharded model.safetensors.index.json). Strict: every parameter must be present with its shape.
    public static func load(from url: URL) throws -> LLaMAModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw LLaMAError(file: url.path, "no such file or folder")
        }
        return isDirectory.boolValue ? try load(huggingFaceFolder: url) : try load(gguf: try GGUFFile(path: url.path))
    }

    /// Loads a Hugging Face folder (single file or sharded index, read by `Module.loadWeights`). Tensors
    /// keep their storage (a bf16 checkpoint stays bf16 in memory).
    public static func load(huggingFaceFolder folder: URL) throws -> LLaMAModel {
        let configuration = try LLaMAConfiguration(configJSON: folder.appendingPathComponent("config.json"))
        let model = LLaMAModel(configuration: configuration)
        try model.loadWeights(folder: folder) { tensors in
            // Checkpoints may carry rotary buffers and a duplicate of a tied head; neither is a parameter here.
            var kept = tensors.filter { !$0.key.hasSuffix("rotary_emb.inv_freq") }
            if configuration.tieWordEmbeddings { kept["lm_head.weight"] = nil }
            return kept
        }
        return model
    }

    /// Loads a GGUF file: every tensor dequantised to float32, named by `LlamaGGUFNames`, with the Q and
    /// K rows un-permuted so they pair with the half-split RoPE (see `QKPermutation`).
    public static func load(gguf: GGUFFile) throws -> LLaMAModel {
        let configuration = try LLaMAConfiguration(gguf: gguf)
        let model = LLaMAModel(configuration: configuration)
        var tensors: [String: Tensor] = [:]
        for info in gguf.tensors {
            // Llama-3 GGUFs store precomputed rope frequencies; we compute them from the configuration.
            if info.name == "rope_freqs.weight" { continue }
            guard let key = LlamaGGUFNames.hfName(forGGUF: info.name) else {
                throw LLaMAError(file: gguf.path, "tensor '\(info.name)' is not part of a LLaMA model")
            }
            let t = Tensor.empty(info.shape)
            let out = UnsafeMutableBufferPointer(start: t.f32, count: info.elementCount)
            switch LlamaGGUFNames.permutation(forGGUF: info.name) {
            case .none:
                try gguf.dequantize(info, into: out)
            case .query, .key:
                let heads = LlamaGGUFNames.permutation(forGGUF: info.name) == .query ? configuration.headCount : configuration.kvHeadCount
                let raw = try gguf.dequantize(info)
                do {
                    try raw.withUnsafeBufferPointer { try QKPermutation.unpermute($0, rows: info.rowCount, heads: heads, into: out) }
                } catch {
                    throw LLaMAError(file: gguf.path, "tensor '\(info.name)' \(info.shape): \(error)")
                }
            }
            tensors[key] = t
        }
        do { try model.update(parameters: tensors) } catch var e as ParameterLoadError {
            e.file = gguf.path
            throw e
        }
        return model
    }
}
