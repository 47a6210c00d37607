import Foundation

// MARK: - Configuration

/// The Qwen2 language model's hyper-parameters (transformers' `Qwen2VLTextConfig`).
public struct Qwen2VLTextConfiguration: Sendable, Equatable {
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var vocabularySize: Int
    public var rmsNormEps: Float
    public var ropeTheta: Float
    /// How many of the head's D/2 rotary frequencies the temporal, height and width position streams
    /// drive, in that order (`rope_scaling.mrope_section`; [16, 24, 24] for the released models).
    public var mropeSection: [Int]
    public var maxPositionEmbeddings: Int

    /// transformers derives it; Qwen2-VL configs carry no `head_dim`.
    public var headDim: Int { hiddenSize / max(headCount, 1) }

    public init(hiddenSize: Int, intermediateSize: Int, layerCount: Int, headCount: Int, kvHeadCount: Int,
                vocabularySize: Int, rmsNormEps: Float = 1e-6, ropeTheta: Float = 1_000_000,
                mropeSection: [Int] = [16, 24, 24], maxPositionEmbeddings: Int = 32768) {
        (self.hiddenSize, self.intermediateSize, self.layerCount, self.headCount, self.kvHeadCount) =
            (hiddenSize, intermediateSize, layerCount, headCount, kvHeadCount)
        (self.vocabularySize, self.rmsNormEps, self.ropeTheta, self.mropeSection, self.maxPositionEmbeddings) =
            (vocabularySize, rmsNormEps, ropeTheta, mropeSection, maxPositionEmbeddings)
    }
}

/// The vision tower's hyper-parameters (transformers' `Qwen2VLVisionConfig`).
public struct Qwen2VLVisionConfiguration: Sendable, Equatable {
    public var depth: Int
    public var embedDim: Int
    /// The language model's width: the patch merger's output size.
    public var hiddenSize: Int
    public var hiddenAct: String
    public var mlpRatio: Double
    public var headCount: Int
    public var inChannels: Int
    public var patchSize: Int
    public var spatialMergeSize: Int
    public var temporalPatchSize: Int
    public var ropeTheta: Float

    public var headDim: Int { embedDim / max(headCount, 1) }
    /// int(embed_dim · mlp_ratio), as transformers truncates it.
    public var mlpHiddenSize: Int { Int(Double(embedDim) * mlpRatio) }
    /// Values per flattened patch: channels × temporal × patch × patch.
    public var patchValues: Int { inChannels * temporalPatchSize * patchSize * patchSize }

    public init(depth: Int, embedDim: Int, hiddenSize: Int, hiddenAct: String = "quick_gelu", mlpRatio: Double = 4,
                headCount: Int, inChannels: Int = 3, patchSize: Int = 14, spatialMergeSize: Int = 2,
                temporalPatchSize: Int = 2, ropeTheta: Float = 10000) {
        (self.depth, self.embedDim, self.hiddenSize, self.hiddenAct, self.mlpRatio, self.headCount) =
            (depth, embedDim, hiddenSize, hiddenAct, mlpRatio, headCount)
        (self.inChannels, self.patchSize, self.spatialMergeSize, self.temporalPatchSize, self.ropeTheta) =
            (inChannels, patchSize, spatialMergeSize, temporalPatchSize, ropeTheta)
    }
}

/// Qwen2-VL's configuration from an HF `config.json`, in either layout: transformers 5.x nests the
/// language model's keys under `text_config` with `rope_parameters`; the Hub's original checkpoints
/// (Qwen2-VL-2B-Instruct) keep them at the top level with `rope_theta` and `rope_scaling`.
public struct Qwen2VLConfiguration: Sendable, Equatable {
    public var text: Qwen2VLTextConfiguration
    public var vision: Qwen2VLVisionConfiguration
    public var imageTokenID: Int
    public var videoTokenID: Int
    public var visionStartTokenID: Int
    public var visionEndTokenID: Int
    public var tieWordEmbeddings: Bool

    public init(text: Qwen2VLTextConfiguration, vision: Qwen2VLVisionConfiguration, imageTokenID: Int = 151655,
                videoTokenID: Int = 151656, visionStartTokenID: Int = 151652, visionEndTokenID: Int = 151653,
                tieWordEmbeddings: Bool = false) {
        (self.text, self.vision, self.imageTokenID, self.videoTokenID) = (text, vision, imageTokenID, videoTokenID)
        (self.visionStartTokenID, self.visionEndTokenID, self.tieWordEmbeddings) = (visionStartTokenID, visionEndTokenID, tieWordEmbeddings)
    }

    /// Whether the folder's config.json declares a Qwen2-VL model (`model_type` or `architectures`).
    public static func describesQwen2VL(folder: URL) -> Bool {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("config.json")),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return false }
        if json["model_type"] as? String == "qwen2_vl" { return true }
        return (json["architectures"] as? [String])?.contains("Qwen2VLForConditionalGeneration") == true
    }

    /// From an HF `config.json`; every problem names the file and the key.
    public init(configJSON url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LLaMAError(file: url.path, "cannot read: \(error.localizedDescription)")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LLaMAError(file: url.path, "not a JSON object")
        }
        let r = JSONFields(root, file: url.path, prefix: "")
        if let type = root["model_type"] as? String, type != "qwen2_vl" {
            throw LLaMAError(file: url.path, "model_type is '\(type)', expected 'qwen2_vl'")
        }
        // 5.x nests the text keys; the flat layout has them at the top.
        let t = try r.object("text_config") ?? r
        if try t.bool("use_sliding_window") == true {
            throw LLaMAError(file: url.path, "use_sliding_window is not supported (the released Qwen2-VL models do not use it)")
        }
        if let act = try t.string("hidden_act"), act != "silu" {
            throw LLaMAError(file: url.path, "hidden_act '\(act)' is not supported (silu only)")
        }
        let rope = try t.object("rope_parameters") ?? t.object("rope_scaling") ?? r.object("rope_scaling")
        var theta = try t.float("rope_theta") ?? r.float("rope_theta") ?? 1_000_000
        var section = [16, 24, 24]
        if let rope {
            if let v = try rope.float("rope_theta") { theta = v }
            let kind = try rope.string("rope_type") ?? rope.string("type") ?? "default"
            guard kind == "default" || kind == "mrope" else {
                throw LLaMAError(file: url.path, "\(rope.prefix)rope_type '\(kind)' is not supported (default / mrope)")
            }
            if let s = try rope.ints("mrope_section") { section = s }
        }
        let heads = try t.require(t.int("num_attention_heads"), "num_attention_heads")
        text = Qwen2VLTextConfiguration(
            hiddenSize: try t.require(t.int("hidden_size"), "hidden_size"),
            intermediateSize: try t.require(t.int("intermediate_size"), "intermediate_size"),
            layerCount: try t.require(t.int("num_hidden_layers"), "num_hidden_layers"),
            headCount: heads, kvHeadCount: try t.int("num_key_value_heads") ?? heads,
            vocabularySize: try t.require(t.int("vocab_size"), "vocab_size"),
            rmsNormEps: try t.float("rms_norm_eps") ?? 1e-6, ropeTheta: theta, mropeSection: section,
            maxPositionEmbeddings: try t.int("max_position_embeddings") ?? 32768)

        guard let v = try r.object("vision_config") else { throw LLaMAError(file: url.path, "missing key 'vision_config'") }
        if let kind = try v.object("rope_parameters")?.string("rope_type"), kind != "axial" {
            throw LLaMAError(file: url.path, "vision_config.rope_parameters.rope_type '\(kind)' is not supported (axial)")
        }
        vision = Qwen2VLVisionConfiguration(
            depth: try v.require(v.int("depth"), "depth"), embedDim: try v.require(v.int("embed_dim"), "embed_dim"),
            hiddenSize: try v.int("hidden_size") ?? text.hiddenSize, hiddenAct: try v.string("hidden_act") ?? "quick_gelu",
            mlpRatio: try v.double("mlp_ratio") ?? 4, headCount: try v.require(v.int("num_heads"), "num_heads"),
            inChannels: try v.int("in_channels") ?? v.int("in_chans") ?? 3,
            patchSize: try v.int("patch_size") ?? v.int("spatial_patch_size") ?? 14,
            spatialMergeSize: try v.int("spatial_merge_size") ?? 2, temporalPatchSize: try v.int("temporal_patch_size") ?? 2,
            ropeTheta: try v.object("rope_parameters")?.float("rope_theta") ?? 10000)
        imageTokenID = try r.int("image_token_id") ?? 151655
        videoTokenID = try r.int("video_token_id") ?? 151656
        visionStartTokenID = try r.int("vision_start_token_id") ?? 151652
        visionEndTokenID = try r.int("vision_end_token_id") ?? 151653
        // Before 5.x the flag could sit inside text_config; either place ties.
        tieWordEmbeddings = try r.bool("tie_word_embeddings") == true || t.bool("tie_word_embeddings") == true
        try validate(source: url.path)
    }

    /// Checks that the sizes fit together; the message names the source.
    public func validate(source: String) throws {
        func fail(_ m: String) -> LLaMAError { LLaMAError(file: source, m) }
        let t = text, v = vision
        guard t.hiddenSize > 0, t.intermediateSize > 0, t.layerCount > 0, t.headCount > 0, t.kvHeadCount > 0, t.vocabularySize > 0 else {
            throw fail("text sizes must be positive (hidden \(t.hiddenSize), intermediate \(t.intermediateSize), layers \(t.layerCount), heads \(t.headCount)/\(t.kvHeadCount), vocabulary \(t.vocabularySize))")
        }
        guard t.hiddenSize % t.headCount == 0 else { throw fail("hidden_size \(t.hiddenSize) is not a multiple of \(t.headCount) heads") }
        guard t.headCount % t.kvHeadCount == 0 else { throw fail("\(t.headCount) attention heads are not a multiple of \(t.kvHeadCount) KV heads") }
        guard t.headDim % 2 == 0 else { throw fail("head dim \(t.headDim) must be even for rotary embeddings") }
        guard t.mropeSection.count == 3, t.mropeSection.allSatisfy({ $0 >= 0 }), t.mropeSection.reduce(0, +) == t.headDim / 2 else {
            throw fail("mrope_section \(t.mropeSection) must be three counts summing to head_dim/2 = \(t.headDim / 2)")
        }
        guard t.ropeTheta > 0, t.rmsNormEps > 0 else { throw fail("rope_theta and rms_norm_eps must be positive") }
        guard v.depth > 0, v.embedDim > 0, v.headCount > 0, v.inChannels > 0, v.patchSize > 0, v.spatialMergeSize > 0,
              v.temporalPatchSize > 0, v.mlpHiddenSize > 0, v.ropeTheta > 0 else {
            throw fail("vision_config sizes must be positive")
        }
        guard v.embedDim % v.headCount == 0, v.headDim % 4 == 0 else {
            throw fail("vision embed_dim \(v.embedDim) over \(v.headCount) heads must give a head dim divisible by 4 (2-D rotary)")
        }
        guard v.hiddenSize == t.hiddenSize else {
            throw fail("vision_config.hidden_size \(v.hiddenSize) differs from the language model's \(t.hiddenSize)")
        }
        guard Qwen2VLActivation(name: v.hiddenAct) != nil else {
            throw fail("vision_config.hidden_act '\(v.hiddenAct)' is not supported (quick_gelu, gelu, gelu_pytorch_tanh, silu)")
        }
        for (name, id) in [("image_token_id", imageTokenID), ("vision_start_token_id", visionStartTokenID), ("vision_end_token_id", visionEndTokenID)]
        where id < 0 || id >= t.vocabularySize {
            throw fail("\(name) \(id) is outside the vocabulary of \(t.vocabularySize)")
        }
    }
}

/// Typed reads from a JSON object, each failing with the file and the dotted key.
struct JSONFields {
    let values: [String: Any]
    let file: String
    let prefix: String

    init(_ values: [String: Any], file: String, prefix: String) { (self.values, self.file, self.prefix) = (values, file, prefix) }

    private func fail(_ key: String, _ expected: String) -> LLaMAError {
        LLaMAError(file: file, "'\(prefix)\(key)' is not \(expected)")
    }

    private func present(_ key: String) -> Any? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        return v
    }

    func require<T>(_ value: T?, _ key: String) throws -> T {
        guard let value else { throw LLaMAError(file: file, "missing key '\(prefix)\(key)'") }
        return value
    }

    func object(_ key: String) throws -> JSONFields? {
        guard let v = present(key) else { return nil }
        guard let d = v as? [String: Any] else { throw fail(key, "an object") }
        return JSONFields(d, file: file, prefix: "\(prefix)\(key).")
    }

    func string(_ key: String) throws -> String? {
        guard let v = present(key) else { return nil }
        guard let s = v as? String else { throw fail(key, "a string") }
        return s
    }

    func bool(_ key: String) throws -> Bool? {
        guard let v = present(key) else { return nil }
        guard let b = v as? Bool else { throw fail(key, "a boolean") }
        return b
    }

    func double(_ key: String) throws -> Double? {
        guard let v = present(key) else { return nil }
        guard !(v is String), let d = (v as? NSNumber)?.doubleValue, d.isFinite else { throw fail(key, "a number") }
        return d
    }

    func float(_ key: String) throws -> Float? { try double(key).map(Float.init) }

    func int(_ key: String) throws -> Int? {
        guard let d = try double(key) else { return nil }
        guard d == d.rounded(), abs(d) < 1e15 else { throw fail(key, "an integer") }
        return Int(d)
    }

    func ints(_ key: String) throws -> [Int]? {
        guard let v = present(key) else { return nil }
        guard let list = v as? [NSNumber], list.allSatisfy({ $0.doubleValue == $0.doubleValue.rounded() && abs($0.doubleValue) < 1e9 }) else {
            throw fail(key, "a list of integers")
        }
        return list.map(\.intValue)
    }
}
