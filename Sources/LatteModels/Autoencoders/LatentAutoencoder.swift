import Foundation
import LatteNN
import LatteTensor

/// What the text-to-image path needs of an image autoencoder, whichever family it is (diffusers'
/// `AutoencoderKL` or `AutoencoderDC`): its channel counts and downsampling factor, images to the
/// latents the generator sees and back, and a diffusers folder to save into. The latent cache, the
/// training run and the pipeline hold an `any LatentAutoencoder`; what only one family has (KL's
/// sampled posterior, either family's tiling) stays on the concrete class.
public protocol LatentAutoencoder: Module {
    /// diffusers' `_class_name` written into the saved config.json ("AutoencoderKL", "AutoencoderDC").
    var className: String { get }
    /// Channels of the images it encodes and decodes (1 grey, 3 RGB).
    var imageChannels: Int { get }
    var latentChannels: Int { get }
    /// Image pixels per latent pixel along each side (KL: 2^(blocks − 1); DC: 2^(stages − 1)).
    var downsamplingFactor: Int { get }
    /// The latent normalisation the generator sees: scaled = (z − shiftFactor) · scalingFactor
    /// (diffusers' config fields; DC-AE has no shift, so 0). A latent cache records both.
    var scalingFactor: Float { get }
    var shiftFactor: Float { get }
    /// Throws a message naming the problem unless `x` is [N, imageChannels, H, W] with H and W
    /// positive multiples of `downsamplingFactor` (callers with user input check before encoding).
    func validateImages(_ x: Tensor) throws
    /// Throws unless `z` is [N, latentChannels, h, w] with a nonzero size.
    func validateLatents(_ z: Tensor) throws
    /// Images [N, imageChannels, H, W] in [−1, 1] → scaled latents [N, latentChannels, H/f, W/f]:
    /// the posterior mean for KL (what a latent cache stores), the encoder's output for DC.
    func encodeScaled(_ images: Tensor) -> Tensor
    /// Scaled latents → images [N, imageChannels, h·f, w·f] (un-scaled, then decoded).
    func decodeScaled(_ latents: Tensor) -> Tensor
    /// Writes a diffusers-layout folder (config.json with `_class_name`, `AutoencoderFolder.weightsFileName`)
    /// that `loadAutoencoder(directory:)` and diffusers both read back.
    func save(directory: URL) throws
}

/// The files of a diffusers autoencoder folder, for callers that need them without loading the model
/// (a latent cache hashes the weights file to know which autoencoder made its latents).
public enum AutoencoderFolder {
    public static let configFileName = "config.json"
    public static let weightsFileName = "diffusion_pytorch_model.safetensors"
    /// The families `loadAutoencoder(directory:)` reads, by diffusers' `_class_name`.
    public static let supportedClasses = ["AutoencoderKL", "AutoencoderDC"]

    public static func configFile(in directory: URL) -> URL { directory.appendingPathComponent(configFileName) }
    public static func weightsFile(in directory: URL) -> URL { directory.appendingPathComponent(weightsFileName) }

    /// The `_class_name` of the folder's config.json; errors name the file and what is wrong with it.
    public static func className(in directory: URL) throws -> String {
        let url = configFile(in: directory)
        guard FileManager.default.fileExists(atPath: url.path) else {
            throw AutoencoderError("\(url.path): no such file (an autoencoder folder in diffusers' layout holds config.json and \(weightsFileName))")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) } catch {
            throw AutoencoderError("\(url.path): not a readable JSON file (\(error.localizedDescription))")
        }
        guard let fields = object as? [String: Any] else { throw AutoencoderError("\(url.path): not a JSON object") }
        guard let name = fields["_class_name"] as? String else {
            throw AutoencoderError("\(url.path): no \"_class_name\" field, so the autoencoder family is unknown (diffusers writes one of \(supportedClasses.joined(separator: ", ")))")
        }
        return name
    }
}

/// Loads a diffusers autoencoder folder as the family its config.json's `_class_name` names
/// (AutoencoderKL or AutoencoderDC), strictly as that family's `load(directory:)` does; any other
/// class is refused with a message naming the file, the class and the supported ones.
public func loadAutoencoder(directory: URL) throws -> any LatentAutoencoder {
    let name = try AutoencoderFolder.className(in: directory)
    switch name {
    case "AutoencoderKL": return try AutoencoderKL.load(directory: directory)
    case "AutoencoderDC": return try AutoencoderDC.load(directory: directory)
    default:
        throw AutoencoderError("\(AutoencoderFolder.configFile(in: directory).path): _class_name \"\(name)\" is not an autoencoder LatteFlow reads (supported: \(AutoencoderFolder.supportedClasses.joined(separator: ", ")))")
    }
}

extension AutoencoderKL: LatentAutoencoder {
    public var className: String { "AutoencoderKL" }
    public var imageChannels: Int { configuration.inChannels }
    public var latentChannels: Int { configuration.latentChannels }
    public var downsamplingFactor: Int { configuration.downsamplingFactor }
    public var scalingFactor: Float { configuration.scalingFactor }
    public var shiftFactor: Float { configuration.shiftFactor ?? 0 }
    /// The posterior mean, scaled: the deterministic latent a cache stores (diffusers' `latent_dist.mode()`).
    public func encodeScaled(_ images: Tensor) -> Tensor { scaledLatent(encode(images).mean) }
    public func decodeScaled(_ latents: Tensor) -> Tensor { decode(unscaledLatent(latents)) }
    /// f32 weights (`save(directory:dtype:)` chooses another element type).
    public func save(directory: URL) throws { try save(directory: directory, dtype: .float32) }
}

extension AutoencoderDC: LatentAutoencoder {
    public var className: String { "AutoencoderDC" }
    public var imageChannels: Int { configuration.inChannels }
    public var latentChannels: Int { configuration.latentChannels }
    public var downsamplingFactor: Int { spatialCompressionRatio }
    public var scalingFactor: Float { configuration.scalingFactor }
    public var shiftFactor: Float { 0 }
    public func encodeScaled(_ images: Tensor) -> Tensor { scaledLatent(encode(images)) }
    public func decodeScaled(_ latents: Tensor) -> Tensor { decode(unscaledLatent(latents)) }
}
