import Foundation
import LatteNN
import LatteTensor

/// `vision.json` beside `vision.safetensors` in a model folder: what turns an image into the frozen
/// LM's image tokens. The encoder is a pinned asset (never committed); the projector's weights are the
/// folder's `vision.safetensors` (`linear_1.*`, `linear_2.*`).
public struct VisionModelConfiguration: Codable, Equatable, Sendable {
    public static let fileName = "vision.json"
    public static let formatName = "latteflow-vision-1"

    public var format: String
    /// The pinned encoder asset ("efficientnet-lite0").
    public var encoder: String
    /// Images are resized to input_size² before the encoder.
    public var inputSize: Int
    /// The encoder map is average-pooled to grid × grid tokens per image.
    public var grid: Int
    public var encoderChannels: Int
    /// The LM's width, the projector's output.
    public var width: Int
    /// The backbone the projector was trained for (an asset name).
    public var backbone: String
    /// How the prompt is laid out (`VisionPrompt`), for readers of the file.
    public var promptLayout: String
    public var weights: String

    public init(encoder: String = "efficientnet-lite0", inputSize: Int, grid: Int, encoderChannels: Int, width: Int,
                backbone: String = "smollm2", weights: String = "vision.safetensors") {
        format = Self.formatName
        (self.encoder, self.inputSize, self.grid, self.encoderChannels, self.width, self.backbone, self.weights) =
            (encoder, inputSize, grid, encoderChannels, width, backbone, weights)
        promptLayout = "<|im_start|>user\\n[grid² tokens per image]\\nQUESTION<|im_end|>\\n<|im_start|>assistant\\n"
    }

    enum CodingKeys: String, CodingKey {
        case format, encoder, grid, width, backbone, weights
        case inputSize = "input_size", encoderChannels = "encoder_channels", promptLayout = "prompt_layout"
    }

    public var tokensPerImage: Int { grid * grid }

    /// Whether `folder` holds vision weights (its `vision.json`).
    public static func present(in folder: URL) -> Bool {
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(fileName).path)
    }

    /// Reads `folder`'s configuration and projector, checking one against the other.
    public static func load(folder: URL) throws -> (VisionModelConfiguration, ImageTokenProjector) {
        let url = folder.appendingPathComponent(fileName)
        let c: VisionModelConfiguration
        do { c = try JSONDecoder().decode(VisionModelConfiguration.self, from: Data(contentsOf: url)) }
        catch { throw BackboneError("\(url.path): not a vision configuration (\(error))") }
        guard c.format == formatName else { throw BackboneError("\(url.path): format '\(c.format)', expected '\(formatName)'") }
        guard c.grid >= 1, c.inputSize >= 32 else { throw BackboneError("\(url.path): grid \(c.grid) and input size \(c.inputSize) must be ≥ 1 and ≥ 32") }
        let projector = ImageTokenProjector(encoderChannels: c.encoderChannels, width: c.width)
        let weights = folder.appendingPathComponent(c.weights)
        do {
            let file = try Safetensors.read(contentsOf: weights)
            try projector.update(parameters: file.tensors.mapValues { $0.toFloat32() }, strict: true)
        } catch { throw BackboneError("\(weights.path): \(error)") }
        return (c, projector)
    }

    /// Writes the configuration and `projector`'s weights into `folder`.
    public func save(projector: ImageTokenProjector, to folder: URL, dtype: DType = .float32) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var tensors: [String: Tensor] = [:]
        for (k, p) in projector.namedParameters() { tensors[k] = p.value.to(dtype) }
        try Safetensors.write(tensors, metadata: ["format": Self.formatName], to: folder.appendingPathComponent(weights))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: folder.appendingPathComponent(Self.fileName), options: .atomic)
    }
}
