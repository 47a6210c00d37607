/// An 8-bit image with interleaved samples (HWC: row-major, channels innermost).
///
/// Channels: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. Kept independent of the tensor type so the codecs
/// and datasets stay below the tensor layer; `planarFloats` hands the pixels over as CHW.
public struct Image: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && (1...4).contains(channels), "Image needs positive size and 1-4 channels")
        precondition(pixels.count == width * height * channels, "pixel count does not match width*height*channels")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// An image filled with one value per channel.
    public init(width: Int, height: Int, channels: Int, fill: [UInt8]) {
        precondition(fill.count == channels, "fill needs one value per channel")
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        pixels.withUnsafeMutableBufferPointer { out in
            for i in 0..<(width * height) {
                for c in 0..<channels { out[i * channels + c] = fill[c] }
            }
        }
        self.init(width: width, height: height, channels: channels, pixels: pixels)
    }

    @inlinable public subscript(x: Int, y: Int, c: Int) -> UInt8 {
        get { pixels[(y * width + x) * channels + c] }
        set { pixels[(y * width + x) * channels + c] = newValue }
    }
}

/// A 16-bit image (HWC, host-endian), as decoded from 16-bit PNGs when full precision is asked for.
public struct Image16: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [UInt16]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt16]) {
        precondition(width > 0 && height > 0 && (1...4).contains(channels), "Image16 needs positive size and 1-4 channels")
        precondition(pixels.count == width * height * channels, "pixel count does not match width*height*channels")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Rounds each sample to the nearest 8-bit level (v * 255 / 65535).
    public func to8Bit() -> Image {
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = UInt8((UInt32(src[i]) * 255 + 32767) / 65535) }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }
}

/// A float image (HWC), the working form between 8-bit pixels and planar tensors.
public struct FloatImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var channels: Int
    public var pixels: [Float]

    public init(width: Int, height: Int, channels: Int, pixels: [Float]) {
        precondition(width > 0 && height > 0 && channels > 0, "FloatImage needs positive size and channels")
        precondition(pixels.count == width * height * channels, "pixel count does not match width*height*channels")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }
}

/// Limits checked against a file's header before any pixel buffer is allocated.
public struct ImageLimits: Sendable {
    public var maxDimension: Int
    public var maxPixels: Int

    public init(maxDimension: Int = 32768, maxPixels: Int = 1 << 28) {
        self.maxDimension = maxDimension
        self.maxPixels = maxPixels
    }

    /// 32768 per side and 2^28 pixels (1 GiB as RGBA8): larger than any training image, small
    /// enough that a hostile header cannot make us allocate unbounded memory.
    public static let `default` = ImageLimits()
}

public struct ImageError: Error, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case unreadable, truncated, corrupt, tooLarge, unsupported, outOfMemory, invalidArgument
    }
    public var kind: Kind
    /// The file (or "<memory>") the problem was found in.
    public var file: String
    public var message: String

    public init(_ kind: Kind, file: String, _ message: String) {
        self.kind = kind
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
}
