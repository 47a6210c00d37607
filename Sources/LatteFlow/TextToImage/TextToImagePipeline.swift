import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers

/// A whole LaTtE-Flow text-to-image model: tokenizer and frozen backbone (prompt caches), the
/// generation pathway (layerwise timestep experts) and the autoencoder that turns latents into pixels.
public final class TextToImagePipeline {
    public let manifest: TextToImageManifest
    public let generator: LayerwiseTimestepExperts
    public let autoencoder: AutoencoderKL
    public let tokenizer: Tokenizer
    public let prompts: PromptEncoder
    public let promptStartID: Int
    /// A weaker generator for autoguidance (`FlowSampler.guide`): the folder's own guide (model.json's
    /// `guide_generator`), or another folder's via `loadGuide(directory:)`.
    public var guide: LayerwiseTimestepExperts?

    public init(manifest: TextToImageManifest, generator: LayerwiseTimestepExperts, autoencoder: AutoencoderKL,
                tokenizer: Tokenizer, backbone: PromptBackbone) throws {
        self.manifest = manifest
        self.generator = generator
        self.autoencoder = autoencoder
        self.tokenizer = tokenizer
        prompts = PromptEncoder(backbone: backbone)
        try prompts.check(generator.configuration)
        guard let id = tokenizer.tokenToID(manifest.promptStartToken) else {
            throw GeneratorError.invalidConfiguration("prompt_start_token '\(manifest.promptStartToken)' is not in the backbone's vocabulary")
        }
        promptStartID = id
        let c = generator.configuration, a = autoencoder.configuration
        guard a.latent_channels == c.latentChannels else {
            throw GeneratorError.invalidConfiguration("the autoencoder has \(a.latent_channels) latent channels, the generator \(c.latentChannels)")
        }
    }

    /// Loads a model folder (see `TextToImageManifest`); the backbone comes from the asset cache when
    /// the manifest names an asset.
    public static func load(directory: URL) throws -> TextToImagePipeline {
        let manifestURL = directory.appendingPathComponent("model.json")
        guard FileManager.default.fileExists(atPath: manifestURL.path) else {
            throw GeneratorError.invalidConfiguration("\(directory.path) is not a LatteFlow model folder (no model.json)")
        }
        let manifest = try TextToImageManifest.load(from: manifestURL)
        let generator = try loadGenerator(directory: directory)
        let autoencoder = try AutoencoderKL.load(directory: directory.appendingPathComponent(manifest.autoencoder))
        let (backbone, tokenizer) = try loadBackbone(manifest.backbone)
        let pipeline = try TextToImagePipeline(manifest: manifest, generator: generator, autoencoder: autoencoder,
                                               tokenizer: tokenizer, backbone: backbone)
        if let configuration = manifest.guideGenerator, let weights = manifest.guideWeights {
            let guide = try loadGenerator(configuration: directory.appendingPathComponent(configuration),
                                          weights: directory.appendingPathComponent(weights))
            try pipeline.setGuide(guide)
        }
        return pipeline
    }

    /// A model folder's generator configuration and weights file, as named by its model.json.
    public static func generatorFiles(in directory: URL) throws -> (configuration: GeneratorConfiguration, weights: URL) {
        let manifest = try TextToImageManifest.load(from: directory.appendingPathComponent("model.json"))
        return try generatorFiles(configuration: directory.appendingPathComponent(manifest.generator),
                                  weights: directory.appendingPathComponent(manifest.weights))
    }

    /// A generator configuration file parsed, and its weights file checked to exist.
    static func generatorFiles(configuration: URL, weights: URL) throws -> (configuration: GeneratorConfiguration, weights: URL) {
        let parsed = try GeneratorConfiguration.load(from: configuration)
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw GeneratorError.invalidConfiguration("\(weights.path): missing generator weights")
        }
        return (parsed, weights)
    }

    /// The generation pathway of a model folder, weights loaded.
    public static func loadGenerator(directory: URL) throws -> LayerwiseTimestepExperts {
        let manifest = try TextToImageManifest.load(from: directory.appendingPathComponent("model.json"))
        return try loadGenerator(configuration: directory.appendingPathComponent(manifest.generator),
                                 weights: directory.appendingPathComponent(manifest.weights))
    }

    /// A generation pathway from its configuration file and weights file (f32, f16 or int8).
    public static func loadGenerator(configuration: URL, weights: URL) throws -> LayerwiseTimestepExperts {
        let files = try generatorFiles(configuration: configuration, weights: weights)
        let generator = try LayerwiseTimestepExperts(files.configuration)
        try generator.loadSafetensors(files.weights, strict: true)
        return generator
    }

    /// Loads another model folder's generator to guide this model (autoguidance), replacing the
    /// folder's own guide if it has one.
    public func loadGuide(directory: URL) throws {
        try setGuide(try Self.loadGenerator(directory: directory))
    }

    /// Makes `generator` the guide, after checking it reads the same backbone and makes the same latents.
    public func setGuide(_ generator: LayerwiseTimestepExperts) throws {
        try prompts.check(generator.configuration)
        try self.generator.configuration.checkGuide(generator.configuration)
        guide = generator
    }

    /// A backbone and its tokenizer from an asset name, a GGUF file or a Hugging Face folder.
    public static func loadBackbone(_ name: String) throws -> (LLaMAModel, Tokenizer) {
        let url: URL
        if FileManager.default.fileExists(atPath: name) { url = URL(fileURLWithPath: name) }
        else if AssetCatalog.asset(named: name) != nil { url = try AssetCache().require(name) }
        else { throw GeneratorError.invalidConfiguration("backbone '\(name)' is neither a file, a folder nor a known asset name") }
        let model = try LLaMAModel.load(from: url)
        var isDirectory: ObjCBool = false
        _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
        let tokenizer = try Tokenizer.load(contentsOf: isDirectory.boolValue ? url.appendingPathComponent("tokenizer.json") : url)
        return (model, tokenizer)
    }

    /// The token ids the backbone prefills for a prompt: the start token, then the text's tokens.
    public func tokens(for prompt: String) throws -> [Int] {
        let text = prompt.trimmingCharacters(in: .whitespacesAndNewlines)
        let ids = tokenizer.encode(text, addSpecialTokens: false)
        guard ids.count <= 512 else { throw GeneratorError.invalidInput("the prompt has \(ids.count) tokens; at most 512 are supported") }
        return [promptStartID] + ids
    }

    /// The null prompt: the start token alone.
    public var nullTokens: [Int] { [promptStartID] }

    /// Sampler settings with the manifest's defaults for anything not given.
    public func settings(steps: Int? = nil, guidance: Float? = nil, shift: Float? = nil, solver: FlowSolver? = nil,
                         guidanceInterval: ClosedRange<Float>? = nil, guideWeight: Float? = nil, seed: UInt64 = 0) -> SamplerSettings {
        SamplerSettings(steps: steps ?? manifest.defaultSteps, solver: solver ?? manifest.defaultSolver ?? .euler,
                        guidance: guidance ?? manifest.defaultGuidance,
                        shift: shift ?? manifest.defaultShift, seed: seed,
                        guidanceInterval: guidanceInterval ?? manifest.guidanceInterval,
                        guideWeight: guideWeight ?? (guide != nil ? manifest.defaultGuideWeight ?? 1 : 1))
    }

    /// Starting noise for one image: depends only on its seed, so an image does not change with the
    /// batch it is generated in.
    public func noise(seed: UInt64) -> Tensor {
        let c = generator.configuration
        var g = RandomGenerator(seed: seed)
        return Tensor.normal([1, c.latentChannels, c.latentHeight, c.latentWidth], generator: &g)
    }

    /// Latents for `prompts` (one image each, in one batch); image i starts from `noise(seed: seeds[i])`
    /// (default: the settings' seed + i).
    public func sampleLatents(prompts texts: [String], settings: SamplerSettings, seeds: [UInt64]? = nil,
                              routing: ExpertRouting = .owning, progress: ((SamplingProgress) -> Bool)? = nil) throws -> Tensor {
        guard !texts.isEmpty else { throw GeneratorError.invalidInput("no prompt given") }
        let seeds = seeds ?? texts.indices.map { settings.seed &+ UInt64($0) }
        guard seeds.count == texts.count else { throw GeneratorError.invalidInput("\(seeds.count) seeds for \(texts.count) prompts") }
        let prompt = try prompts.encode(batch: try texts.map(tokens(for:)))
        let null = settings.guidance != 1 ? try prompts.encode(nullTokens) : nil
        let start = Tensor.concat(seeds.map(noise(seed:)), axis: 0)
        return try FlowSampler(model: generator, settings: settings, routing: routing, guide: guide).sample(prompt: prompt, nullPrompt: null, noise: start, progress: progress)
    }

    /// Decodes generator latents to images [N, C, H, W] in [−1, 1], cropped by the manifest's `crop`.
    public func decode(_ latents: Tensor) -> Tensor {
        let images = withoutGradient { autoencoder.decode(autoencoder.unscaledLatent(latents)) }
        let m = manifest.crop
        guard m > 0 else { return images }
        return images.sliced(axis: 2, m..<(images.dim(2) - m)).sliced(axis: 3, m..<(images.dim(3) - m)).contiguous()
    }

    /// Images for `prompts`: sample, then decode.
    public func generate(prompts texts: [String], settings: SamplerSettings, seeds: [UInt64]? = nil,
                         routing: ExpertRouting = .owning, progress: ((SamplingProgress) -> Bool)? = nil) throws -> Tensor {
        decode(try sampleLatents(prompts: texts, settings: settings, seeds: seeds, routing: routing, progress: progress))
    }
}
