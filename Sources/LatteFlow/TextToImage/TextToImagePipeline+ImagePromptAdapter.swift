import Foundation
import LatteFormats
import LatteNN
import LatteTensor

/// Image-prompt adapters: a model folder whose generator draws from text keeps its weights, and carries
/// the image-prompt fine-tune (`latte train-like`'s output) as a small `LowRankDelta` beside them —
/// model.json's `image_prompts.adapter`. `latte generate --like` applies it once after loading; text
/// prompts never see it. So one folder serves text and image prompts without a second full generator.
extension TextToImagePipeline {
    /// The default adapter file name in a model folder.
    public static let imagePromptAdapterFile = "like-adapter.safetensors"

    /// Turns the generator into `directory`'s image-prompt model when model.json names an adapter (no-op
    /// without one: the generator itself was fine-tuned). Must come before `packForInference`.
    public func applyImagePromptAdapter(from directory: URL) throws {
        guard let record = manifest.imagePrompts, let adapter = record.adapter else { return }
        guard !packedForInference else {
            throw GeneratorError.invalidConfiguration("the image-prompt adapter must be applied before the generator is packed for inference")
        }
        try record.checkAdapter(in: directory, generatorWeights: directory.appendingPathComponent(manifest.weights))
        let url = directory.appendingPathComponent(adapter)
        do {
            let file = try Safetensors.read(contentsOf: url)
            let delta = try Int8RowwiseWeights.dequantize(file.tensors, file: url.path)
            try generator.update(parameters: try LowRankDelta.apply(delta, to: generator.parameterTensors()))
        } catch let error as LowRankDeltaError {
            throw GeneratorError.invalidConfiguration("\(url.path): \(error)")
        }
    }

    /// Makes `base` (a model folder) draw image prompts the way `tuned` (`latte train-like`'s output from
    /// `base`) does: writes `tuned`'s generator weights minus `base`'s at `rank` into `base` as
    /// `imagePromptAdapterFile` (element type `dtype`: .float16 or .int8), then points `base`'s model.json
    /// at it with `tuned`'s image-prompt record. `base` must already hold the vision weights `tuned` was
    /// trained with (they are its understanding projector too; a different one is refused, not replaced).
    /// `guidance` replaces the record's default guidance for image prompts. Each file is written
    /// atomically, the adapter before model.json names it.
    @discardableResult
    public static func writeImagePromptAdapter(base: URL, tuned: URL, rank: Int, dtype: DType = .float16, guidance: Float? = nil) throws -> LowRankDelta.Summary {
        let baseManifest = try TextToImageManifest.load(directory: base)
        let tunedManifest = try TextToImageManifest.load(directory: tuned)
        guard var record = tunedManifest.imagePrompts, record.adapter == nil else {
            throw GeneratorError.invalidConfiguration("\(tuned.path) is not a generator fine-tuned for image prompts (its model.json has no image_prompts\(tunedManifest.imagePrompts?.adapter != nil ? " of its own: it holds an adapter itself" : "")): give the output folder of `latte train-like --model \(base.path)`")
        }
        let baseFiles = try generatorFiles(in: base), tunedFiles = try generatorFiles(in: tuned)
        guard baseFiles.configuration == tunedFiles.configuration else {
            throw GeneratorError.invalidConfiguration("\(tuned.path)'s generator has another shape than \(base.path)'s (generator.json differs): an adapter only joins a fine-tune to the weights it started from")
        }
        do { try record.checkVisionWeights(in: base) } catch {
            throw GeneratorError.invalidConfiguration("\(base.path) must hold the vision weights \(tuned.path) was trained with (\(record.visionWeights), SHA-256 \(record.visionSHA256.prefix(12))…): \(error)")
        }
        guard dtype == .float16 || dtype == .int8 else {
            throw GeneratorError.invalidConfiguration("an adapter is stored as f16 or int8, not \(dtype.rawValue)")
        }
        let baseWeights = try loadGenerator(configuration: baseFiles.configuration, weights: baseFiles.weights).parameterTensors()
        let tunedWeights = try loadGenerator(configuration: tunedFiles.configuration, weights: tunedFiles.weights).parameterTensors()
        let (delta, summary): ([String: Tensor], LowRankDelta.Summary)
        do { (delta, summary) = try LowRankDelta.extract(base: baseWeights, tuned: tunedWeights, rank: rank) } catch let error as LowRankDeltaError {
            throw GeneratorError.invalidConfiguration("\(base.path) → \(tuned.path): \(error)")
        }
        record.adapter = imagePromptAdapterFile
        if let guidance { record.defaultGuidance = guidance }
        record.adapterBaseSHA256 = try SHA256.hash(fileAt: baseFiles.weights.path)
        let metadata = ["rank": String(rank), "energy_kept": String(format: "%.4f", summary.energyKept),
                        "base_sha256": record.adapterBaseSHA256!, "tuned": tuned.lastPathComponent]
        try Safetensors.write(Safetensors.encode(delta, as: dtype), metadata: metadata, to: base.appendingPathComponent(imagePromptAdapterFile))
        var manifest = baseManifest
        manifest.imagePrompts = record
        try manifest.save(to: base.appendingPathComponent("model.json"))
        return summary
    }
}
