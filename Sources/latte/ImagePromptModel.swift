import Foundation
import LatteEval
import LatteFlow
import LatteFormats
import LatteModels
import LatteTensor

/// A model folder ready for image prompts (`latte generate --like`, `latte eval like`): its vision path
/// (`VisionChat`, sharing the generator's loaded backbone) and the `ImagePromptEncoder` its generator
/// was trained with (model.json's `image_prompts`).
struct ImagePromptModel {
    let record: ImagePromptRecord
    let chat: VisionChat
    let encoder: ImagePromptEncoder

    /// What can be checked before anything is loaded, in the order a user meets it: the folder has
    /// vision weights, its generator was trained for image prompts, and with these very weights.
    /// `option` names the flag in messages. `images` (files) are decoded once to fail before the model loads.
    static func check(folder: URL, option: String, images: [String] = []) throws -> ImagePromptRecord {
        let path = folder.path
        guard VisionModelConfiguration.present(in: folder) else {
            throw CommandFailure("\(option): \(path) has no vision weights (\(VisionModelConfiguration.fileName) + vision.safetensors), so it cannot read an image prompt; `latte train-like --model \(path) --vision DIR` makes a folder that can")
        }
        let manifest: TextToImageManifest
        do { manifest = try TextToImageManifest.load(directory: folder) } catch { throw CommandFailure("\(option): \(error)") }
        guard let record = manifest.imagePrompts else {
            throw CommandFailure("\(option): the generator of \(path) was not trained for image prompts (model.json has no image_prompts; it draws from text only). Fine-tune it with `latte train-like --model \(path) --output DIR`, then `latte generate --model DIR --like IMAGE`")
        }
        do {
            try record.checkVisionWeights(in: folder)
            try record.checkAdapter(in: folder, generatorWeights: folder.appendingPathComponent(manifest.weights))
        } catch { throw CommandFailure("\(option): \(error)") }
        for path in images { _ = try VisionChat.prepare((path as NSString).expandingTildeInPath, size: 32, option: option) }
        return record
    }

    static func load(folder: URL, record: ImagePromptRecord, backbone: Backbone) throws -> ImagePromptModel {
        let chat = try VisionChat.load(folder: folder, backbone: backbone)
        let encoder = try ImagePromptEncoder(lm: chat.answerer.lm, projector: chat.answerer.projector, tokenizer: chat.answerer.tokenizer,
                                             tokensPerImage: chat.configuration.tokensPerImage, instruction: record.instruction)
        return ImagePromptModel(record: record, chat: chat, encoder: encoder)
    }

    /// The image prompt of each image file, one one-row cache each (files checked as `latte chat --image` checks them).
    func caches(ofFiles paths: [String], option: String = "--like") throws -> [PromptCache] {
        try paths.map { path in
            let x = try VisionChat.prepare((path as NSString).expandingTildeInPath, size: chat.configuration.inputSize, option: option)
            return encoder.caches(tokens: chat.encoder.features(x).adaptiveAveragePoolTokens(grid: chat.configuration.grid))
        }
    }

    /// Sampler settings for image prompts: the flags over the model's defaults, except that guidance
    /// without --cfg is `image_prompts.default_guidance` and autoguidance is off (the folder's guide
    /// was trained on text prompts only and would pull towards what it makes of an image prompt).
    func settings(_ sampling: SamplingOptions, pipeline: TextToImagePipeline, seed: UInt64) throws -> SamplerSettings {
        if sampling.guide.guideModel != nil || sampling.guide.guideWeight != nil {
            throw CommandFailure("--like: autoguidance (--guide-model, --guide-weight) is not used with image prompts: a guide reads text prompts only; leave them out (--cfg sets the guidance)")
        }
        var settings = try sampling.settings(for: pipeline, seed: seed)
        if sampling.guidance == nil { settings.guidance = record.defaultGuidance }
        settings.guideWeight = 1
        return settings
    }
}
