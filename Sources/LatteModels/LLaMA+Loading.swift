import Foundation
import LatteFormats
import LatteKernels
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
    /// `keepQuantized` applies to GGUF files (see `load(gguf:keepQuantized:)`); a folder has no
    /// quantised tensors to keep.
    public static func load(from url: URL, keepQuantized: Bool = false) throws -> LLaMAModel {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw LLaMAError(file: url.path, "no such file or folder")
        }
        if isDirectory.boolValue { return try load(huggingFaceFolder: url) }
        return try load(gguf: try GGUFFile(path: url.path), keepQuantized: keepQuantized)
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
    ///
    /// With `keepQuantized`, the matrices stored as Q8_0 or Q4_1 stay in that format for inference
    /// (`QuantizedWeight` on their `Linear` / `Embedding`, whose float32 parameter is then a frozen
    /// one-element placeholder): borrowed from the file's memory mapping, except Q and K, whose rows
    /// are copied in un-permuted order. Other types (F32 norms, F16, K-quants) are dequantised as usual.
    /// The model then runs forward only; it has no gradient with respect to (or through) those layers.
    public static func load(gguf: GGUFFile, keepQuantized: Bool = false) throws -> LLaMAModel {
        let configuration = try LLaMAConfiguration(gguf: gguf)
        let model = LLaMAModel(configuration: configuration)
        var tensors: [String: Tensor] = [:]
        var quantized: [(layer: Module, weight: QuantizedWeight)] = []
        func keptQuantized(_ info: GGUFTensorInfo) -> Bool {
            keepQuantized && QuantizedFormat(info.type) != nil && info.shape.count == 2
        }
        // Every float32 tensor in one huge-page block (decode streams them all once per token).
        let arena = WeightArena(elementCounts: gguf.tensors.filter { $0.name != "rope_freqs.weight" && !keptQuantized($0) }
                                                       .map(\.elementCount))
        for info in gguf.tensors {
            // Llama-3 GGUFs store precomputed rope frequencies; we compute them from the configuration.
            if info.name == "rope_freqs.weight" { continue }
            guard let key = LlamaGGUFNames.hfName(forGGUF: info.name) else {
                throw LLaMAError(file: gguf.path, "tensor '\(info.name)' is not part of a LLaMA model")
            }
            let permutation = LlamaGGUFNames.permutation(forGGUF: info.name)
            let heads = permutation == .query ? configuration.headCount : configuration.kvHeadCount
            if keepQuantized, let format = QuantizedFormat(info.type), info.shape.count == 2,
               let layer = model.module(at: String(key.dropLast(".weight".count))), layer is Linear || layer is Embedding {
                let weight = try quantizedWeight(info, format: format, permutation: permutation, heads: heads, gguf: gguf)
                quantized.append((layer, weight))
                // A zero-stride stand-in of the stored shape, so the strict shape check below still runs.
                tensors[key] = Tensor(storage: Tensor.zeros([1]).storage, shape: info.shape, strides: [0, 0])
                continue
            }
            let t = arena.tensor(info.shape)
            let out = UnsafeMutableBufferPointer(start: t.f32, count: info.elementCount)
            switch permutation {
            case .none:
                try gguf.dequantize(info, into: out)
            case .query, .key:
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
        for (layer, weight) in quantized {
            if let linear = layer as? Linear {
                linear.weight.isTrainable = false
                linear.quantizedWeight = weight
            } else if let embedding = layer as? Embedding {
                embedding.weight.isTrainable = false
                embedding.quantizedWeight = weight
            }
        }
        return model
    }

    /// One Q8_0 / Q4_1 matrix as a `QuantizedWeight`: borrowed from the mapping, or for Q and K copied
    /// with HF row i taken from the GGUF row that `QKPermutation` sends to i (rows are whole blocks).
    private static func quantizedWeight(_ info: GGUFTensorInfo, format: QuantizedFormat, permutation: LlamaGGUFNames.PermutedRows,
                                        heads: Int, gguf: GGUFFile) throws -> QuantizedWeight {
        let raw = try gguf.rawBytes(of: info)
        do {
            guard permutation != .none else {
                return try QuantizedWeight(format: format, rows: info.rowCount, columns: info.rowLength, bytes: raw, owner: gguf)
            }
            let rows = info.rowCount
            guard heads > 0, rows % heads == 0, (rows / heads) % 2 == 0 else {
                throw QuantizedWeightError("\(rows) rows do not split into \(heads) heads of even size")
            }
            var order = [Int](repeating: 0, count: rows)
            for g in 0..<rows { order[QKPermutation.hfRow(forGGUFRow: g, rows: rows, heads: heads)] = g }
            return try QuantizedWeight(format: format, rows: rows, columns: info.rowLength, copying: raw, rowOrder: order)
        } catch let e as QuantizedWeightError {
            throw LLaMAError(file: gguf.path, "tensor '\(info.name)' \(info.shape): \(e)")
        }
    }
}

extension QuantizedFormat {
    /// The format of a GGUF tensor type, when the quantised kernels read it.
    init?(_ type: GGMLType) {
        switch type {
        case .q8_0: self = .q8_0
        case .q4_1: self = .q4_1
        default: return nil
        }
    }
}
