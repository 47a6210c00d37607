/// Per-item preprocessing applied by the loader, in order, before an item enters a batch.
/// Random transforms draw from a generator seeded by (loader seed, epoch, item index) alone, so an
/// item's augmentation does not depend on batch size, thread timing or where a run was resumed.
public enum ItemTransform: Sendable, Equatable {
    case toGray
    case toRGB
    /// Flattens alpha onto a solid gray level (255 = white); no-op without alpha.
    case compositeOver(UInt8)
    /// Flattens alpha onto a solid colour: RGBA gives RGB; gray+alpha gives gray on a gray colour,
    /// RGB on any other. No-op without alpha.
    case compositeOverColour(BackgroundColour)
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
        case .compositeOverColour(let colour):
            switch image.channels {
            case 4: return image.composited(over: colour.rgb)
            case 2 where colour.isGray: return image.composited(over: [colour.red])
            case 2: return image.grayAlphaToRGBA().composited(over: colour.rgb)
            default: return image
            }
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

extension ItemTransform {
    /// What a training image goes through, in order: alpha flattened onto `background`, converted to
    /// gray (1) or RGB (3), shorter side resized to `resolution` with the Pillow-exact resampler,
    /// centre-cropped to `resolution`², then flipped left–right with probability ½ if asked.
    /// Any size, PNG or JPEG, grey, RGB or RGBA in; `resolution`² × `channels` out.
    public static func trainingImage(resolution: Int, channels: Int, background: BackgroundColour = .white,
                                     horizontalFlip: Bool = false, filter: ResampleFilter = .bicubic) -> [ItemTransform] {
        precondition(resolution > 0 && (channels == 1 || channels == 3), "resolution must be positive and channels 1 or 3")
        var transforms: [ItemTransform] = [.compositeOverColour(background), channels == 1 ? .toGray : .toRGB,
                                           .resizeShorterSide(resolution, filter: filter), .centerCrop(width: resolution, height: resolution)]
        if horizontalFlip { transforms.append(.randomHorizontalFlip(probability: 0.5)) }
        return transforms
    }
}

/// The solid colour transparent pixels are flattened onto (white unless stated).
public struct BackgroundColour: Sendable, Equatable {
    public var red: UInt8, green: UInt8, blue: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    public static let white = BackgroundColour(red: 255, green: 255, blue: 255)
    public static let black = BackgroundColour(red: 0, green: 0, blue: 0)

    /// `white`, `black`, or hex `RRGGBB` / `#RRGGBB`.
    public init(parsing text: String) throws {
        switch text.lowercased() {
        case "white": self = .white
        case "black": self = .black
        default:
            let hex = text.hasPrefix("#") ? String(text.dropFirst()) : text
            guard hex.count == 6, let value = UInt32(hex, radix: 16) else {
                throw DatasetError(.inconsistent, file: "<background>", "'\(text)' is not a colour: use white, black or RRGGBB hex")
            }
            self.init(red: UInt8(value >> 16), green: UInt8((value >> 8) & 0xFF), blue: UInt8(value & 0xFF))
        }
    }

    var rgb: [UInt8] { [red, green, blue] }
    var isGray: Bool { red == green && green == blue }
}

extension Image {
    /// Gray+alpha widened to RGBA (gray replicated).
    func grayAlphaToRGBA() -> Image {
        precondition(channels == 2, "grayAlphaToRGBA needs a gray+alpha image")
        var out = [UInt8](repeating: 0, count: width * height * 4)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(width * height) {
                    let g = src[2 * i], a = src[2 * i + 1]
                    dst[4 * i] = g; dst[4 * i + 1] = g; dst[4 * i + 2] = g; dst[4 * i + 3] = a
                }
            }
        }
        return Image(width: width, height: height, channels: 4, pixels: out)
    }
}
