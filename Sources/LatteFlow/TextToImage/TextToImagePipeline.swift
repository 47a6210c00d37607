import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers

/// A whole LaTtE-Flow text-to-image model: tokenizer and frozen backbone (prompt caches), the
/// generation pathway (layerwise timestep experts) and the autoencoder that turns latents into pixels.
///
/// It owns its model folder (`load(directory:)` and its inverse `save(to:)`, in
/// `TextToImagePipeline+Folder.swift`) and schedules batches of image requests
/// (`TextToImagePipeline+Requests.swift`); command lines and servers only parse and print.
public final class TextToImagePipeline {
    public let manifest: TextToImageManifest
    public let generator: LayerwiseTimestepExperts
    /// An AutoencoderKL or AutoencoderDC (`loadAutoencoder(directory:)` reads either from the folder).
    public let autoencoder: any LatentAutoencoder
    public let tokenizer: Tokenizer
    public let prompts: PromptEncoder
    /// How prompt text becomes backbone tokens (the same rule training used).
    public let promptTokens: PromptTokens
    /// A weaker generator for autoguidance (`FlowSampler.guide`): the folder's own guide (model.json's
    /// `guide_generator`), or another folder's via `loadGuide(directory:)`.
    public private(set) var guide: LayerwiseTimestepExperts?

    public init(manifest: TextToImageManifest, generator: LayerwiseTimestepExperts, autoencoder: any LatentAutoencoder,
                tokenizer: Tokenizer, backbone: PromptBackbone) throws {
        self.manifest = manifest
        self.generator = generator
        self.autoencoder = autoencoder
        self.tokenizer = tokenizer
        prompts = PromptEncoder(backbone: backbone)
        try prompts.check(generator.configuration)
        promptTokens = try PromptTokens(tokenizer: tokenizer, startToken: manifest.promptStartToken)
        let c = generator.configuration
        guard autoencoder.latentChannels == c.latentChannels else {
            throw GeneratorError.invalidConfiguration("the autoencoder (\(autoencoder.className)) has \(autoencoder.latentChannels) latent channels, the generator \(c.latentChannels)")
        }
    }

    /// Packs the generator's and the guide's weights for inference (`packLinearWeightsForInference`):
    /// each sampling step then skips re-packing every weight matrix for the GEMM, with results equal bit
    /// for bit. For commands that only sample (generate, eval, serve): the pipeline can no longer be
    /// saved or trained. A guide set later (`setGuide`, `loadGuide`) is packed as it arrives. Returns how
    /// many matrices were packed (0 on a second call).
    @discardableResult
    public func packForInference() -> Int {
        packedForInference = true
        return generator.packLinearWeightsForInference() + (guide?.packLinearWeightsForInference() ?? 0)
    }

    /// Whether `packForInference` was called: the pipeline only samples from then on.
    public private(set) var packedForInference = false

    /// Makes `generator` the guide, after checking it reads the same backbone and makes the same latents;
    /// nil removes the guide.
    public func setGuide(_ generator: LayerwiseTimestepExperts?) throws {
        if let generator {
            try prompts.check(generator.configuration)
            try self.generator.configuration.checkGuide(generator.configuration)
            if packedForInference { generator.packLinearWeightsForInference() }
        }
        guide = generator
    }

    // MARK: - Prompts

    /// The token ids the backbone prefills for a prompt: the start token, then the text's tokens.
    public func tokens(for prompt: String) throws -> [Int] { try promptTokens.tokens(for: prompt) }

    /// The null prompt: the start token alone.
    public var nullTokens: [Int] { promptTokens.nullTokens }

    // MARK: - Sampling

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
    /// (default: the settings' seed + i). `progress` may return false to stop early.
    public func sampleLatents(prompts texts: [String], settings: SamplerSettings, seeds: [UInt64]? = nil,
                              routing: ExpertRouting = .owning, progress: ((SamplingProgress) -> Bool)? = nil) throws -> Tensor {
        guard !texts.isEmpty else { throw GeneratorError.invalidInput("no prompt given") }
        let seeds = seeds ?? texts.indices.map { settings.seed &+ UInt64($0) }
        guard seeds.count == texts.count else { throw GeneratorError.invalidInput("\(seeds.count) seeds for \(texts.count) prompts") }
        return try sampleLatents(prompt: try prompts.encode(batch: try texts.map(tokens(for:))), settings: settings, seeds: seeds,
                                 routing: routing, progress: progress)
    }

    /// Latents for prompts already prefilled (one row per image: text prompts from `prompts`, image
    /// prompts from `ImagePromptEncoder`); image i starts from `noise(seed: seeds[i])`, guided against the null prompt.
    public func sampleLatents(prompt: PromptCache, settings: SamplerSettings, seeds: [UInt64],
                              routing: ExpertRouting = .owning, progress: ((SamplingProgress) -> Bool)? = nil) throws -> Tensor {
        guard seeds.count == prompt.batch else { throw GeneratorError.invalidInput("\(seeds.count) seeds for \(prompt.batch) prompts") }
        let null = settings.guidance != 1 ? try prompts.encode(nullTokens) : nil
        let start = Tensor.concat(seeds.map(noise(seed:)), axis: 0)
        return try FlowSampler(model: generator, settings: settings, routing: routing, guide: guide)
            .sample(prompt: prompt, nullPrompt: null, noise: start, progress: progress)
    }

    /// Decodes generator latents to images [N, C, H, W] in [−1, 1], cropped by the manifest's `crop`.
    public func decode(_ latents: Tensor) -> Tensor {
        let images = withoutGradient { autoencoder.decodeScaled(latents) }
        let m = manifest.crop
        guard m > 0 else { return images }
        return images.sliced(axis: 2, m..<(images.dim(2) - m)).sliced(axis: 3, m..<(images.dim(3) - m)).contiguous()
    }

    /// Images for `prompts` in one batch: sample, then decode ([N, C, H, W] in [−1, 1]).
    public func generate(prompts texts: [String], settings: SamplerSettings, seeds: [UInt64]? = nil,
                         routing: ExpertRouting = .owning, progress: ((SamplingProgress) -> Bool)? = nil) throws -> Tensor {
        decode(try sampleLatents(prompts: texts, settings: settings, seeds: seeds, routing: routing, progress: progress))
    }
}
