import Foundation
import LatteFormats

/// model.json's `image_prompts`: present when the folder's generator was trained to read image prompts
/// (`latte train-like`), and what it was trained with, so `latte generate --like` rebuilds the same
/// prompt and refuses a projector it was not trained with. A folder without it (every model trained
/// before `train-like`) draws from text only.
public struct ImagePromptRecord: Codable, Equatable, Sendable {
    /// The instruction after the image (`ImagePromptEncoder`).
    public var instruction: String
    /// The vision weights the generator read its image prompts through (the folder's own copy) and
    /// their SHA-256: another projector gives other keys, which this generator never saw.
    public var visionWeights: String
    public var visionSHA256: String
    /// Classifier-free guidance for image prompts when `--cfg` is not given (autoguidance is off for
    /// them: the folder's guide, if any, was trained on text prompts only).
    public var defaultGuidance: Float
    /// Fine-tuning steps behind these weights and the share of steps that kept text prompts, for readers.
    public var steps: Int
    public var textFraction: Float
    /// Prompt images per class the run drew from (the pool whose keys and values were cached).
    public var promptImagesPerClass: Int
    /// When set, the folder's own generator weights are the text-prompt model and image prompts are
    /// drawn with those weights plus this file's `LowRankDelta` (the fine-tune kept small, so one folder
    /// serves both without a second full copy); `adapterBaseSHA256` is the SHA-256 of the generator
    /// weights file the delta was taken from, so a delta never lands on other weights. Nil: the
    /// generator itself was fine-tuned (`latte train-like`'s own output).
    public var adapter: String?
    public var adapterBaseSHA256: String?

    enum CodingKeys: String, CodingKey {
        case instruction, steps, adapter
        case adapterBaseSHA256 = "adapter_base_sha256"
        case visionWeights = "vision_weights", visionSHA256 = "vision_sha256", defaultGuidance = "default_guidance"
        case textFraction = "text_fraction", promptImagesPerClass = "prompt_images_per_class"
    }

    public init(instruction: String, visionWeights: String, visionSHA256: String, defaultGuidance: Float, steps: Int,
                textFraction: Float, promptImagesPerClass: Int) {
        (self.instruction, self.visionWeights, self.visionSHA256, self.defaultGuidance) = (instruction, visionWeights, visionSHA256, defaultGuidance)
        (self.steps, self.textFraction, self.promptImagesPerClass) = (steps, textFraction, promptImagesPerClass)
    }

    /// Throws unless `folder`'s vision weights are the ones this generator was trained with.
    public func checkVisionWeights(in folder: URL) throws {
        let url = folder.appendingPathComponent(visionWeights)
        try Self.check(url, hasDigest: visionSHA256,
                       missing: "\(folder.path) has no \(visionWeights), the vision weights its generator was trained to read image prompts through") {
            "\(url.path) is not the projector this generator was trained with for image prompts (SHA-256 \($0.prefix(12))…, model.json's image_prompts says \(visionSHA256.prefix(12))…): train it again with `latte train-like --model \(folder.path)`"
        }
    }

    /// Throws unless the adapter file (if any) is in `folder` and was taken from `generatorWeights`, the
    /// folder's generator weights file (cheap enough to run before anything loads: one hash).
    public func checkAdapter(in folder: URL, generatorWeights: URL) throws {
        guard let adapter else { return }
        guard let base = adapterBaseSHA256 else {
            throw GeneratorError.invalidConfiguration("\(folder.path)/model.json: image_prompts names an adapter but no adapter_base_sha256")
        }
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(adapter).path) else {
            throw GeneratorError.invalidConfiguration("\(folder.path) has no \(adapter), the image-prompt adapter its model.json names")
        }
        try Self.check(generatorWeights, hasDigest: base, missing: "\(generatorWeights.path): missing generator weights") {
            "\(adapter) in \(folder.path) was taken from other generator weights (\(generatorWeights.lastPathComponent) has SHA-256 \($0.prefix(12))…, image_prompts.adapter_base_sha256 says \(base.prefix(12))…): extract it again with `latte like-adapter --base \(folder.path) --tuned DIR`"
        }
    }

    /// Throws `missing` unless `url` exists, and `mismatch(its digest)` unless its SHA-256 is `expected`.
    static func check(_ url: URL, hasDigest expected: String, missing: String, mismatch: (String) -> String) throws {
        guard FileManager.default.fileExists(atPath: url.path) else { throw GeneratorError.invalidConfiguration(missing) }
        let digest = try SHA256.hash(fileAt: url.path)
        guard digest == expected else { throw GeneratorError.invalidConfiguration(mismatch(digest)) }
    }
}
