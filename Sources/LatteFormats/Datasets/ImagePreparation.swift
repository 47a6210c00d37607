import Foundation

/// How a dataset's images become training pixels, in one value that the autoencoder trainer, the latent
/// cache (its manifest records `fingerprint`) and a model folder (decoded images are cropped by `pad`)
/// share, so that what a model was trained on is stated once.
///
/// Two forms: a fixed-size set used as it is, with a zero border (`resolution == nil`: Fashion-MNIST's
/// 28×28 padded by 2 to 32×32), or any-size images resized and centre-cropped to `resolution`²
/// (`ItemTransform.trainingImage`: alpha flattened on `background`, Pillow-exact resampling, optional
/// left–right flip). Pixels end in [−1, 1].
public struct ImagePreparation: Sendable, Equatable {
    /// Side of the square training image; nil keeps the dataset's own size.
    public var resolution: Int?
    /// Zero border added on every side (only with `resolution == nil`).
    public var pad: Int
    /// 1 (grey) or 3 (RGB): the autoencoder's input channels.
    public var channels: Int
    /// What transparent pixels are flattened onto.
    public var background: BackgroundColour
    /// Flip left–right with probability ½ (drawn per item and epoch from the loader's seed).
    public var horizontalFlip: Bool

    public init(resolution: Int? = nil, pad: Int = 0, channels: Int = 1, background: BackgroundColour = .white,
                horizontalFlip: Bool = false) {
        self.resolution = resolution
        self.pad = pad
        self.channels = channels
        self.background = background
        self.horizontalFlip = horizontalFlip
    }

    /// Fashion-MNIST as the default model was trained: grey 28×28 with a 2-pixel border.
    public static let fashionMNIST = ImagePreparation(pad: 2, channels: 1)

    /// Checks the values; messages name the command-line flags.
    public func validate() throws {
        func fail(_ message: String) -> DatasetError { DatasetError(.inconsistent, file: "<image options>", message) }
        guard channels == 1 || channels == 3 else { throw fail("images must have 1 or 3 channels (the autoencoder's input), got \(channels)") }
        guard pad >= 0 else { throw fail("--pad must not be negative") }
        if let resolution {
            guard resolution >= 1 else { throw fail("--resolution must be at least 1") }
            guard pad == 0 else { throw fail("--pad borders a fixed-size dataset; with --resolution the images are resized and cropped instead") }
        }
    }

    /// The loader's per-item transforms, in order.
    public var transforms: [ItemTransform] {
        if let resolution {
            return ItemTransform.trainingImage(resolution: resolution, channels: channels, background: background,
                                               horizontalFlip: horizontalFlip)
        }
        var t: [ItemTransform] = [.compositeOverColour(background), channels == 1 ? .toGray : .toRGB]
        if pad > 0 { t.append(.pad(pad, fill: 0)) }
        if horizontalFlip { t.append(.randomHorizontalFlip(probability: 0.5)) }
        return t
    }

    /// Loader options for these images: pixels scaled to [−1, 1].
    public func loaderOptions(batchSize: Int, shuffle: Bool, seed: UInt64,
                              unreadableImages: UnreadableImagePolicy = .fail) -> DataLoaderOptions {
        DataLoaderOptions(batchSize: batchSize, shuffle: shuffle, dropLast: shuffle, seed: seed, transforms: transforms,
                          mean: [0.5], std: [0.5], unreadableImages: unreadableImages)
    }

    /// A canonical one-line description, for cache manifests and model cards: two preparations give the
    /// same pixels exactly when their fingerprints are equal.
    public var fingerprint: String {
        let size = resolution.map { "resize+centre-crop \($0) bicubic" } ?? "native size, pad \(pad)"
        let colour = String(format: "%02x%02x%02x", background.red, background.green, background.blue)
        return "\(size), \(channels == 1 ? "grey" : "rgb"), background #\(colour), flip \(horizontalFlip ? "0.5" : "off")"
    }
}
