import Foundation
import LatteFlow
import LatteFormats
import LatteModels
import LatteTensor

/// A loaded model as the server uses it: the text-to-image pipeline, its backbone for chat, and the
/// facts the routes check requests against.
public final class ServedModel: @unchecked Sendable {
    /// The id `/v1/models` lists and requests may name (the model folder's name).
    public let id: String
    public let pipeline: TextToImagePipeline
    /// The backbone the pipeline reads prompts with; `/v1/chat/completions` chats with it.
    public let backbone: Backbone
    /// The images' native size (the only one the generator makes).
    public let width: Int
    public let height: Int

    public init(id: String, pipeline: TextToImagePipeline, backbone: Backbone) {
        self.id = id
        self.pipeline = pipeline
        self.backbone = backbone
        // The decoder's output size for one latent is the native size (after the manifest's crop).
        let c = pipeline.generator.configuration
        let probe = pipeline.decode(Tensor.zeros([1, c.latentChannels, c.latentHeight, c.latentWidth]))
        height = probe.dim(2)
        width = probe.dim(3)
    }

    /// The native size as OpenAI's `size` field spells it.
    public var size: String { "\(width)x\(height)" }

    /// True for a vision-language backbone (Qwen2-VL): chat accepts images.
    public var canSee: Bool { backbone.canSee }

    /// Loads a model folder and its backbone (fetching a pinned backbone only if `assets` allows).
    public static func load(directory: URL, assets: AssetPolicy) throws -> ServedModel {
        let (pipeline, backbone) = try TextToImagePipeline.loadWithBackbone(directory: directory, assets: assets)
        pipeline.packForInference()   // the server only samples: weights packed for the GEMM once
        return ServedModel(id: directory.standardizedFileURL.lastPathComponent, pipeline: pipeline, backbone: backbone)
    }
}
