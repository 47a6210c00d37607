import Foundation
import LatteFormats
import LatteKernels
import LatteTokenizers

/// A language model and its tokenizer, loaded to back the LaTtE-Flow generator (as a
/// `PromptBackbone`) or to chat (as a `CausalLanguageModel`): the one way a front end turns a
/// backbone name into a model.
public struct Backbone {
    /// The model under both roles.
    public let model: any CausalLanguageModel & PromptBackbone
    public let tokenizer: Tokenizer
    /// The GGUF file or folder the model was read from.
    public let location: URL

    public var languageModel: any CausalLanguageModel { model }
    public var promptBackbone: any PromptBackbone { model }

    public init(model: any CausalLanguageModel & PromptBackbone, tokenizer: Tokenizer, location: URL) {
        (self.model, self.tokenizer, self.location) = (model, tokenizer, location)
    }

    /// Loads `spec`: a GGUF file (LLaMA architecture; it holds its tokenizer), a Hugging Face folder with
    /// `tokenizer.json` (LLaMA family, or Qwen2-VL when its config.json says `qwen2_vl`), or the name of
    /// a pinned asset (`smollm2`), found in `cache` or fetched as `assets` allows. `keepQuantized` keeps
    /// a GGUF's Q8_0 / Q4_1 matrices quantised (see `LLaMAModel.load(gguf:keepQuantized:)`) and
    /// quantises a Qwen2-VL folder's language model to `quantizedFormat` at load (`Qwen2VLQuantization`).
    /// `mmproj` is llama.cpp's vision-projector file for a Qwen2-VL language-model GGUF.
    public static func load(_ spec: String, assets: AssetPolicy = .requirePresent, cache: AssetCache = AssetCache(),
                            keepQuantized: Bool = false, quantizedFormat: QuantizedFormat = .q8_0,
                            mmproj: URL? = nil) throws -> Backbone {
        let location = try locate(spec, assets: assets, cache: cache)
        let tokenizerURL = isFolder(location) ? location.appendingPathComponent("tokenizer.json") : location
        guard FileManager.default.fileExists(atPath: tokenizerURL.path) else {
            throw BackboneError("\(location.path) is a model folder without tokenizer.json")
        }
        let model = try loadModel(at: location, keepQuantized: keepQuantized, quantizedFormat: quantizedFormat, mmproj: mmproj)
        return Backbone(model: model, tokenizer: try Tokenizer.load(contentsOf: tokenizerURL), location: location)
    }

    /// The model alone (no tokenizer) from a GGUF file or a Hugging Face folder. `quantizedFormat` is the
    /// layers' format when `keepQuantized` quantises a Qwen2-VL folder (a LLaMA folder stays as stored).
    /// A GGUF of architecture `qwen2vl` loads as Qwen2-VL, with its vision tower from `mmproj` if given.
    public static func loadModel(at location: URL, keepQuantized: Bool = false, quantizedFormat: QuantizedFormat = .q8_0,
                                 mmproj: URL? = nil) throws -> any CausalLanguageModel & PromptBackbone {
        if !isFolder(location) {
            guard FileManager.default.fileExists(atPath: location.path) else { throw LLaMAError(file: location.path, "no such file or folder") }
            let gguf = try GGUFFile(path: location.path)
            if gguf.metadata["general.architecture"]?.string == "qwen2vl" {
                return try Qwen2VLModel.load(gguf: gguf, mmproj: try mmproj.map { try GGUFFile(path: $0.path) }, keepQuantized: keepQuantized)
            }
            if let mmproj { throw BackboneError("\(mmproj.path): a vision projector (mmproj) goes with a Qwen2-VL GGUF; \(location.path) is not one") }
            return try LLaMAModel.load(gguf: gguf, keepQuantized: keepQuantized)
        }
        if let mmproj { throw BackboneError("\(mmproj.path): a vision projector (mmproj) goes with a Qwen2-VL language-model GGUF, not a folder") }
        if Qwen2VLConfiguration.describesQwen2VL(folder: location) {
            return try Qwen2VLModel.load(huggingFaceFolder: location,
                                         quantization: keepQuantized ? Qwen2VLQuantization(layers: quantizedFormat) : nil)
        }
        return try LLaMAModel.load(huggingFaceFolder: location)
    }

    /// The file or folder `spec` names: an existing path, else a backbone asset's model file.
    public static func locate(_ spec: String, assets: AssetPolicy = .requirePresent, cache: AssetCache = AssetCache()) throws -> URL {
        let url = URL(fileURLWithPath: (spec as NSString).expandingTildeInPath)
        if FileManager.default.fileExists(atPath: url.path) { return url }
        guard let asset = AssetCatalog.asset(named: spec) else {
            throw BackboneError("'\(spec)' is neither an existing GGUF file or Hugging Face folder nor a known backbone asset (\(assetNames))")
        }
        guard let file = modelFile(of: asset) else {
            throw BackboneError("the asset '\(spec)' is not a language-model backbone (backbone assets: \(assetNames))")
        }
        return try cache.resolve(spec, file: file, policy: assets)
    }

    /// Pinned assets that hold a backbone: those with a GGUF model file.
    public static var assetNames: String {
        AssetCatalog.all.filter { modelFile(of: $0) != nil }.map(\.name).joined(separator: ", ")
    }

    private static func modelFile(of asset: Asset) -> String? {
        asset.files.first { $0.name.hasSuffix(".gguf") }?.name
    }

    private static func isFolder(_ url: URL) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) && isDirectory.boolValue
    }
}

/// A backbone name that does not lead to a usable model; the message says why.
public struct BackboneError: Error, CustomStringConvertible, LocalizedError, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
