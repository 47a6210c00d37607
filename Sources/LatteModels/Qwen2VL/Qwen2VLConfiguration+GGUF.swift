import LatteFormats

// MARK: - Configuration from llama.cpp's files

extension Qwen2VLTextConfiguration {
    /// From a language-model GGUF of architecture `qwen2vl` (llama.cpp's `qwen2vl.*` keys). The vocabulary
    /// size comes from `token_embd.weight`; `rope.dimension_sections` holds four counts, the fourth 0.
    public init(gguf: GGUFFile) throws {
        let arch = gguf.metadata["general.architecture"]?.string
        guard arch == "qwen2vl" else {
            throw LLaMAError(file: gguf.path, "general.architecture is \(arch.map { "'\($0)'" } ?? "absent"), expected 'qwen2vl' (a Qwen2-VL language model converted by llama.cpp)")
        }
        func int(_ key: String) -> Int? { gguf.metadata["qwen2vl.\(key)"]?.int }
        let heads = try gguf.requireInt("qwen2vl.attention.head_count")
        let embed = try gguf.tensorInfo(named: "token_embd.weight")
        var sections = [16, 24, 24]
        if let v = gguf.metadata["qwen2vl.rope.dimension_sections"] {
            guard let s = v.ints, s.count >= 3, s.dropFirst(3).allSatisfy({ $0 == 0 }) else {
                throw LLaMAError(file: gguf.path, "qwen2vl.rope.dimension_sections \(v) is not three counts (and zeros)")
            }
            sections = Array(s.prefix(3))
        }
        self.init(hiddenSize: try gguf.requireInt("qwen2vl.embedding_length"),
                  intermediateSize: try gguf.requireInt("qwen2vl.feed_forward_length"),
                  layerCount: try gguf.requireInt("qwen2vl.block_count"), headCount: heads,
                  kvHeadCount: int("attention.head_count_kv") ?? heads, vocabularySize: embed.shape[0],
                  rmsNormEps: gguf.metadata["qwen2vl.attention.layer_norm_rms_epsilon"]?.float ?? 1e-6,
                  ropeTheta: gguf.metadata["qwen2vl.rope.freq_base"]?.float ?? 1_000_000,
                  mropeSection: sections, maxPositionEmbeddings: int("context_length") ?? 32768)
    }
}

extension Qwen2VLVisionConfiguration {
    /// From llama.cpp's vision-projector file (mmproj: architecture `clip`, projector `qwen2vl_merger`).
    /// The MLP width and the merger's output width come from the tensors (the converter's
    /// `feed_forward_length` holds the language model's width for Qwen2-VL); the activation is quick
    /// GELU unless `clip.use_gelu` / `clip.use_silu` say otherwise, as llama.cpp reads it.
    public init(mmproj gguf: GGUFFile) throws {
        func fail(_ m: String) -> LLaMAError { LLaMAError(file: gguf.path, m) }
        let arch = gguf.metadata["general.architecture"]?.string
        guard arch == "clip" else {
            throw fail("general.architecture is \(arch.map { "'\($0)'" } ?? "absent"), expected 'clip' (llama.cpp's vision projector, mmproj)")
        }
        let projector = gguf.metadata["clip.projector_type"]?.string
        guard projector == "qwen2vl_merger" else {
            throw fail("clip.projector_type is \(projector.map { "'\($0)'" } ?? "absent"), expected 'qwen2vl_merger' (Qwen2-VL's; Qwen2.5-VL and others are not supported)")
        }
        guard gguf.metadata["clip.has_vision_encoder"]?.bool != false else { throw fail("clip.has_vision_encoder is false: no vision tower") }
        let embed = try gguf.requireInt("clip.vision.embedding_length")
        let up = try gguf.tensorInfo(named: "v.blk.0.ffn_up.weight"), down = try gguf.tensorInfo(named: "v.blk.0.ffn_down.weight")
        // fc1 widens: [mlp, embed]. Old converters swapped the names (llama.cpp swaps them back by shape too).
        let mlp = up.shape[1] == embed ? up.shape[0] : down.shape[0]
        let merger = try gguf.tensorInfo(named: "mm.2.weight")
        let useGELU = gguf.metadata["clip.use_gelu"]?.bool == true, useSiLU = gguf.metadata["clip.use_silu"]?.bool == true
        guard !(useGELU && useSiLU) else { throw fail("clip.use_gelu and clip.use_silu are both set") }
        self.init(depth: try gguf.requireInt("clip.vision.block_count"), embedDim: embed, hiddenSize: merger.shape[0],
                  hiddenAct: useGELU ? "gelu" : useSiLU ? "silu" : "quick_gelu",
                  // + ½ so int(embed · ratio) gives back exactly `mlp`.
                  mlpRatio: (Double(mlp) + 0.5) / Double(max(embed, 1)),
                  headCount: try gguf.requireInt("clip.vision.attention.head_count"), inChannels: 3,
                  patchSize: try gguf.requireInt("clip.vision.patch_size"),
                  spatialMergeSize: gguf.metadata["clip.vision.spatial_merge_size"]?.int ?? 2, temporalPatchSize: 2)
    }
}
