import Foundation
import LatteFormats
import LatteKernels
import LatteNN
import LatteTensor

// MARK: - Loading llama.cpp's files

extension Qwen2VLModel {
    /// Loads Qwen2-VL as llama.cpp stores it: the language model (architecture `qwen2vl`, LLaMA-style
    /// tensor names with Q/K/V biases, not row-permuted: llama.cpp's converter permutes Q/K only for
    /// the llama family) and, optionally, the vision projector file (`mmproj`, architecture `clip`,
    /// `v.*` tower and `mm.*` merger). Without `mmproj` the vision tower keeps its placeholders and
    /// `hasVisionWeights` is false (text only).
    ///
    /// With `keepQuantized`, the language model's Q8_0 / Q4_1 matrices stay quantised in memory,
    /// borrowed from the file's mapping (`QuantizedWeight`); everything else is dequantised to f32.
    /// Image token ids come from the file's vocabulary (`<|image_pad|>`, `<|vision_start|>`, …).
    public static func load(gguf: GGUFFile, mmproj: GGUFFile? = nil, keepQuantized: Bool = false) throws -> Qwen2VLModel {
        let text = try Qwen2VLTextConfiguration(gguf: gguf)
        var vision = TextOnlyVisionPlaceholder.configuration(hiddenSize: text.hiddenSize)
        if let mmproj {
            vision = try Qwen2VLVisionConfiguration(mmproj: mmproj)
            guard vision.hiddenSize == text.hiddenSize else {
                throw LLaMAError(file: mmproj.path, "the projector's merger outputs width \(vision.hiddenSize), but the language model \(gguf.path) is \(text.hiddenSize) wide: the two files are not from the same model")
            }
        }
        let tokens = gguf.metadata["tokenizer.ggml.tokens"]?.strings ?? []
        func tokenID(_ text: String, default fallback: Int) throws -> Int {
            if let i = tokens.firstIndex(of: text) { return i }
            if mmproj != nil || tokens.isEmpty == false && fallback >= tokens.count {
                throw LLaMAError(file: gguf.path, "the vocabulary has no \(text) token, which Qwen2-VL's prompts need")
            }
            return fallback
        }
        let configuration = Qwen2VLConfiguration(
            text: text, vision: vision,
            imageTokenID: try tokenID("<|image_pad|>", default: 151655), videoTokenID: try tokenID("<|video_pad|>", default: 151656),
            visionStartTokenID: try tokenID("<|vision_start|>", default: 151652), visionEndTokenID: try tokenID("<|vision_end|>", default: 151653),
            tieWordEmbeddings: !gguf.hasTensor(named: "output.weight"))
        try configuration.validate(source: gguf.path)
        let model = Qwen2VLModel(configuration: configuration)

        var tensors: [String: Tensor] = [:]
        var quantized: [(layer: Module, weight: QuantizedWeight)] = []
        for info in gguf.tensors {
            guard let key = LlamaGGUFNames.hfName(forGGUF: info.name), !key.contains("rope_freqs") else {
                throw LLaMAError(file: gguf.path, "tensor '\(info.name)' is not part of a Qwen2-VL language model")
            }
            if keepQuantized, let format = QuantizedFormat(info.type), info.shape.count == 2,
               let layer = model.module(at: String(key.dropLast(".weight".count))), layer is Linear || layer is Embedding {
                do {
                    let weight = try QuantizedWeight(format: format, rows: info.rowCount, columns: info.rowLength,
                                                     bytes: try gguf.rawBytes(of: info), owner: gguf)
                    quantized.append((layer, weight))
                } catch let e as QuantizedWeightError {
                    throw LLaMAError(file: gguf.path, "tensor '\(info.name)' \(info.shape): \(e)")
                }
                // A zero-stride stand-in of the stored shape, so the strict shape check still runs.
                tensors[key] = Tensor(storage: Tensor.zeros([1]).storage, shape: info.shape, strides: info.shape.map { _ in 0 })
                continue
            }
            tensors[key] = try Self.float32(info, of: gguf)
        }
        if let mmproj {
            for (key, t) in try Self.visionTensors(mmproj, configuration: vision) { tensors[key] = t }
        } else {
            // Only the vision tower may be missing; a missing language-model tensor is still an error.
            let absent = model.namedParameters().map(\.key).filter { !$0.hasPrefix("visual.") && tensors[$0] == nil }
            if let first = absent.first {
                throw LLaMAError(file: gguf.path, "missing tensor for '\(first)'" + (absent.count > 1 ? " (and \(absent.count - 1) more)" : ""))
            }
        }
        do { try model.update(parameters: tensors, strict: mmproj != nil) } catch var e as ParameterLoadError {
            e.file = mmproj == nil ? gguf.path : "\(gguf.path) + \(mmproj!.path)"
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
        model.hasVisionWeights = mmproj != nil
        return model
    }

    /// One GGUF tensor as an f32 tensor of its (PyTorch-order) shape.
    static func float32(_ info: GGUFTensorInfo, of file: GGUFFile) throws -> Tensor {
        let t = Tensor.empty(info.shape)
        try file.dequantize(info, into: UnsafeMutableBufferPointer(start: t.f32, count: info.elementCount))
        return t
    }

    /// The mmproj file's tensors under this model's `visual.*` keys: the two per-frame patch kernels
    /// stacked back into the Conv3d kernel, q/k/v fused into `qkv` (llama.cpp splits them), and
    /// every other tensor renamed. A tensor the tower has no place for is an error.
    static func visionTensors(_ file: GGUFFile, configuration c: Qwen2VLVisionConfiguration) throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        var unused = Set(file.tensors.map(\.name))
        func take(_ name: String) throws -> Tensor {
            let info = try file.tensorInfo(named: name)
            unused.remove(name)
            return try float32(info, of: file)
        }
        // v.patch_embd.weight (frame 0) and .weight.1 (frame 1), each [embed, C, P, P] → [embed, C, 2, P, P].
        let frames = [try take("v.patch_embd.weight"), try take("v.patch_embd.weight.1")]
        let (e, ch, p) = (c.embedDim, c.inChannels, c.patchSize)
        guard frames.allSatisfy({ $0.shape == [e, ch, p, p] }) else {
            throw LLaMAError(file: file.path, "v.patch_embd.weight(.1) have shapes \(frames.map(\.shape)), expected [\(e), \(ch), \(p), \(p)] each")
        }
        out["visual.patch_embed.proj.weight"] = Tensor.concat(frames.map { $0.reshaped([e, ch, 1, p, p]) }, axis: 2)

        for b in 0..<c.depth {
            let v = "v.blk.\(b).", ours = "visual.blocks.\(b)."
            for part in ["weight", "bias"] {
                out[ours + "attn.qkv.\(part)"] = Tensor.concat(try ["q", "k", "v"].map { try take(v + "attn_\($0).\(part)") }, axis: 0)
                out[ours + "attn.proj.\(part)"] = try take(v + "attn_out.\(part)")
                out[ours + "norm1.\(part)"] = try take(v + "ln1.\(part)")
                out[ours + "norm2.\(part)"] = try take(v + "ln2.\(part)")
            }
            // fc1 widens embed → mlp; files from old converters carry it under ffn_down (as llama.cpp notes).
            let upInfo = try file.tensorInfo(named: v + "ffn_up.weight")
            let swapped = upInfo.shape[0] == c.embedDim && upInfo.shape[1] != c.embedDim
            for part in ["weight", "bias"] {
                out[ours + "mlp.fc1.\(part)"] = try take(v + (swapped ? "ffn_down." : "ffn_up.") + part)
                out[ours + "mlp.fc2.\(part)"] = try take(v + (swapped ? "ffn_up." : "ffn_down.") + part)
            }
        }
        for part in ["weight", "bias"] {
            out["visual.merger.ln_q.\(part)"] = try take("v.post_ln.\(part)")
            out["visual.merger.mlp.0.\(part)"] = try take("mm.0.\(part)")
            out["visual.merger.mlp.2.\(part)"] = try take("mm.2.\(part)")
        }
        if let stray = unused.sorted().first {
            throw LLaMAError(file: file.path, "tensor '\(stray)' is not part of a Qwen2-VL vision tower (\(unused.count) such)")
        }
        return out
    }
}

/// The vision configuration a language-model-only GGUF gets: Qwen2-VL-2B's tower as placeholders
/// (no memory), so the model's shape is complete; it never runs (`hasVisionWeights` is false).
enum TextOnlyVisionPlaceholder {
    static func configuration(hiddenSize: Int) -> Qwen2VLVisionConfiguration {
        Qwen2VLVisionConfiguration(depth: 32, embedDim: 1280, hiddenSize: hiddenSize, headCount: 16)
    }
}
