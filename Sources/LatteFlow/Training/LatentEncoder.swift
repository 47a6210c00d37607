import Foundation
import LatteModels
import LatteTensor

/// What a `LatentCache` needs of an autoencoder: images [N, C, H, W] in [−1, 1] → latents as the
/// generator sees them (scaled, shifted), and what identifies the result — the weights file and the
/// scaling. Any autoencoder family plugs in with one initialiser (AutoencoderKL's is below).
public struct LatentEncoder {
    /// The family, for messages and the manifest ("AutoencoderKL").
    public var kind: String
    /// The weights file; its SHA-256 goes into the cache's manifest.
    public var weightsFile: URL
    /// Image channels the encoder takes (1 or 3).
    public var inputChannels: Int
    /// The latent normalisation applied by `encode`: (z − shift) · scale.
    public var scalingFactor: Float
    public var shiftFactor: Float
    /// Images [N, inputChannels, H, W] in [−1, 1] → scaled latents [N, C, h, w]; throws on a bad shape.
    public var encode: (Tensor) throws -> Tensor

    public init(kind: String, weightsFile: URL, inputChannels: Int, scalingFactor: Float, shiftFactor: Float,
                encode: @escaping (Tensor) throws -> Tensor) {
        self.kind = kind
        self.weightsFile = weightsFile
        self.inputChannels = inputChannels
        self.scalingFactor = scalingFactor
        self.shiftFactor = shiftFactor
        self.encode = encode
    }

    /// Any autoencoder of the text-to-image path (AutoencoderKL: the posterior mean; AutoencoderDC), scaled for
    /// the generator. `folder` is the diffusers folder it was loaded from (its weights file is hashed); `kind`
    /// is the class name, so AutoencoderKL caches made before the protocol stay valid.
    public init(_ vae: any LatentAutoencoder, folder: URL) {
        self.init(kind: vae.className, weightsFile: AutoencoderFolder.weightsFile(in: folder), inputChannels: vae.imageChannels,
                  scalingFactor: vae.scalingFactor, shiftFactor: vae.shiftFactor) { x in
            try vae.validateImages(x)
            return withoutGradient { vae.encodeScaled(x) }
        }
    }
}
