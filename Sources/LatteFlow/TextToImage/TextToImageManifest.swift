import Foundation

/// `model.json` of a LatteFlow text-to-image folder: which frozen backbone, generator and autoencoder
/// make the model, how prompts become tokens, and how decoded images are cropped and sampled by default.
///
/// Folder layout:
///
///     model.json                 this manifest
///     generator.json             GeneratorConfiguration
///     generator.safetensors      generation pathway weights (EMA), f16 or f32
///     <autoencoder>/             an AutoencoderKL or AutoencoderDC folder in diffusers' layout (path relative
///                                to the folder; its config.json's `_class_name` says which)
///     guide.json, guide.safetensors   optional: a smaller, weaker generator used for autoguidance by default
public struct TextToImageManifest: Codable, Equatable, Sendable {
    public static let currentFormat = "latteflow-text-to-image-1"
    public var format: String
    /// An asset name ("smollm2") or a path to a GGUF file or Hugging Face folder.
    public var backbone: String
    public var generator: String
    public var weights: String
    public var autoencoder: String
    /// Token prepended to every prompt; the null prompt (guidance, dropped conditions) is this token
    /// alone, so the backbone always has at least one token to prefill.
    public var promptStartToken: String
    /// Pixels cropped from each side of decoded images (the training data's padding).
    public var crop: Int
    public var defaultSteps: Int
    public var defaultGuidance: Float
    public var defaultShift: Float
    /// The ODE solver sampling uses by default; absent in older folders, meaning Euler.
    public var defaultSolver: FlowSolver?
    /// The times [from, to] (t: 0 = noise, 1 = data) where guidance applies by default; absent = everywhere.
    public var defaultGuidanceInterval: [Float]?
    /// An optional weaker generator (configuration and weights files) that sampling extrapolates away
    /// from by default (autoguidance, `FlowSampler.guide`), with its default weight (1 = off).
    public var guideGenerator: String?
    public var guideWeights: String?
    public var defaultGuideWeight: Float?
    /// Class names and their phrases when the model was trained on a labelled set (sample sheets, eval).
    public var classNames: [String]?
    public var classPhrases: [[String]]?
    /// Prompts a sample sheet draws, one row each, for a model without classes (trained on captions);
    /// absent in older folders.
    public var samplePrompts: [String]?
    /// What `latte eval` measures a captioned model against (data source and category classifier);
    /// absent for class-conditional models, which are measured per class.
    public var evaluation: TextToImageEvaluation?
    /// Present when the generator was also trained on image prompts (`latte train-like`, `--like`).
    public var imagePrompts: ImagePromptRecord?

    enum CodingKeys: String, CodingKey {
        case format, backbone, generator, weights, autoencoder, crop
        case promptStartToken = "prompt_start_token", defaultSteps = "default_steps", defaultGuidance = "default_guidance"
        case defaultShift = "default_shift", defaultSolver = "default_solver", defaultGuidanceInterval = "default_guidance_interval"
        case classNames = "class_names", classPhrases = "class_phrases", samplePrompts = "sample_prompts"
        case guideGenerator = "guide_generator", guideWeights = "guide_weights", defaultGuideWeight = "default_guide_weight"
        case evaluation, imagePrompts = "image_prompts"
    }

    public init(backbone: String, autoencoder: String, promptStartToken: String, crop: Int, defaultSteps: Int = 30,
                defaultGuidance: Float = 3, defaultShift: Float = 1, defaultSolver: FlowSolver? = nil,
                defaultGuidanceInterval: [Float]? = nil, classNames: [String]? = nil, classPhrases: [[String]]? = nil,
                samplePrompts: [String]? = nil) {
        format = Self.currentFormat
        self.backbone = backbone
        generator = "generator.json"
        weights = "generator.safetensors"
        self.autoencoder = autoencoder
        self.promptStartToken = promptStartToken
        self.crop = crop
        self.defaultSteps = defaultSteps
        self.defaultGuidance = defaultGuidance
        self.defaultShift = defaultShift
        self.defaultSolver = defaultSolver
        self.defaultGuidanceInterval = defaultGuidanceInterval
        self.classNames = classNames
        self.classPhrases = classPhrases
        self.samplePrompts = samplePrompts
    }

    /// The prompts of a sample sheet, one row each: each class's first phrase, else the sample prompts.
    public var sheetPrompts: [String]? {
        if let phrases = classPhrases, !phrases.isEmpty { return phrases.map { $0[0] } }
        if let samplePrompts, !samplePrompts.isEmpty { return samplePrompts }
        return nil
    }

    /// The model.json of a model folder, with an error that says what the folder lacks.
    public static func load(directory: URL) throws -> TextToImageManifest {
        let url = directory.appendingPathComponent("model.json")
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw GeneratorError.invalidConfiguration("\(directory.path) is not a LatteFlow model folder (no model.json)")
        }
        return try load(from: url)
    }

    public static func load(from url: URL) throws -> TextToImageManifest {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw GeneratorError.invalidConfiguration("cannot read \(url.path): \(error.localizedDescription)")
        }
        let m: TextToImageManifest
        do { m = try JSONDecoder().decode(TextToImageManifest.self, from: data) } catch {
            throw GeneratorError.invalidConfiguration("\(url.path): \(error)")
        }
        guard m.format == currentFormat else {
            throw GeneratorError.invalidConfiguration("\(url.path): format '\(m.format)' is not \(currentFormat)")
        }
        if let phrases = m.classPhrases, phrases.contains(where: \.isEmpty) {
            throw GeneratorError.invalidConfiguration("\(url.path): every class in class_phrases needs at least one phrase")
        }
        if let prompts = m.samplePrompts, prompts.contains(where: \.isEmpty) {
            throw GeneratorError.invalidConfiguration("\(url.path): sample_prompts holds an empty prompt")
        }
        guard m.crop >= 0, m.defaultSteps > 0 else { throw GeneratorError.invalidConfiguration("\(url.path): crop and default_steps must be non-negative / positive") }
        if let interval = m.defaultGuidanceInterval {
            guard interval.count == 2, interval[0] >= 0, interval[0] <= interval[1], interval[1] <= 1 else {
                throw GeneratorError.invalidConfiguration("\(url.path): default_guidance_interval \(interval) is not [from, to] with 0 ≤ from ≤ to ≤ 1")
            }
        }
        guard (m.guideGenerator == nil) == (m.guideWeights == nil) else {
            throw GeneratorError.invalidConfiguration("\(url.path): guide_generator and guide_weights go together (a guide needs both files)")
        }
        if let w = m.defaultGuideWeight {
            guard m.guideGenerator != nil else {
                throw GeneratorError.invalidConfiguration("\(url.path): default_guide_weight is set but there is no guide_generator")
            }
            guard w.isFinite, w >= 1 else {
                throw GeneratorError.invalidConfiguration("\(url.path): default_guide_weight \(w) must be at least 1 (1 = off)")
            }
        }
        if let p = m.imagePrompts, p.instruction.isEmpty || p.visionWeights.isEmpty || !(p.defaultGuidance >= 0) {
            throw GeneratorError.invalidConfiguration("\(url.path): image_prompts needs an instruction, the vision weights' file and a default guidance ≥ 0")
        }
        if let p = m.imagePrompts, (p.adapter == nil) != (p.adapterBaseSHA256 == nil) || p.adapter?.isEmpty == true {
            throw GeneratorError.invalidConfiguration("\(url.path): image_prompts' adapter and adapter_base_sha256 go together (the delta file and the weights it was taken from)")
        }
        if let e = m.evaluation, e.data.isEmpty || e.classifier.isEmpty {
            throw GeneratorError.invalidConfiguration("\(url.path): evaluation needs a non-empty \"data\" source and \"classifier\" folder")
        }
        return m
    }

    /// `defaultGuidanceInterval` as a range (everywhere when absent; `load` has checked it).
    public var guidanceInterval: ClosedRange<Float> {
        guard let i = defaultGuidanceInterval, i.count == 2, i[0] <= i[1] else { return 0...1 }
        return i[0]...i[1]
    }

    public func save(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: url, options: .atomic)
    }
}
