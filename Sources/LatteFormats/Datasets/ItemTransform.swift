/// Per-item preprocessing applied by the loader, in order, before an item enters a batch.
/// Random transforms draw from a generator seeded by (loader seed, epoch, item index) alone, so an
/// item's augmentation does not depend on batch size, thread timing or where a run was resumed.
public enum ItemTransform: Sendable, Equatable {
    case toGray
    case toRGB
    /// Flattens alpha onto a solid gray level (255 = white); no-op without alpha.
    case compositeOver(UInt8)
    /// Exact size, Pillow-compatible resampling.
    case resize(width: Int, height: Int, filter: ResampleFilter)
    /// Scales so the shorter side equals `size`, keeping the aspect ratio (torchvision `Resize(int)`).
    case resizeShorterSide(Int, filter: ResampleFilter)
    case centerCrop(width: Int, height: Int)
    /// Constant border on every side.
    case pad(Int, fill: UInt8)
    case randomHorizontalFlip(probability: Float)

    func apply(_ image: Image, rng: inout SplitMix64) throws -> Image {
        switch self {
        case .toGray: return image.toGray()
        case .toRGB: return image.toRGB()
        case .compositeOver(let level):
            guard image.channels == 2 || image.channels == 4 else { return image }
            return image.composited(over: [UInt8](repeating: level, count: image.channels - 1))
        case .resize(let width, let height, let filter):
            return image.resized(width: width, height: height, filter: filter)
        case .resizeShorterSide(let size, let filter):
            let shorter = min(image.width, image.height)
            // Rounds down like torchvision for the longer side.
            let width = image.width == shorter ? size : max(1, image.width * size / shorter)
            let height = image.height == shorter ? size : max(1, image.height * size / shorter)
            return image.resized(width: width, height: height, filter: filter)
        case .centerCrop(let width, let height):
            return try image.centerCropped(width: width, height: height)
        case .pad(let amount, let fill):
            var values = [UInt8](repeating: fill, count: image.channels)
            if image.channels == 2 || image.channels == 4 { values[image.channels - 1] = 255 }
            return try image.padded(left: amount, top: amount, right: amount, bottom: amount, fill: values)
        case .randomHorizontalFlip(let probability):
            // Always draw, so later random transforms see the same stream whatever this one decided.
            let draw = rng.nextUnitFloat()
            return draw < probability ? image.flippedHorizontally() : image
        }
    }
}

extension ResampleFilter: Equatable {}
