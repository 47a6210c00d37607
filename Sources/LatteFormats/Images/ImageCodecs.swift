import CImageShims
import Foundation

// MARK: - Shared plumbing between the C shim and Swift errors

func readFileBytes(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        var isDirectory: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
        let why = !exists ? "no such file" : isDirectory.boolValue ? "is a directory" : "cannot be read (permissions?)"
        throw ImageError(.unreadable, file: path, why)
    }
    return [UInt8](data)
}

func writeFileBytes(_ bytes: [UInt8], to path: String) throws {
    let url = URL(fileURLWithPath: path)
    do {
        try Data(bytes).write(to: url, options: .atomic)
    } catch {
        throw ImageError(.unreadable, file: path, "cannot be written: \(error.localizedDescription)")
    }
}

extension ImageError.Kind {
    init(_ status: latte_img_status) {
        switch status {
        case LATTE_IMG_TRUNCATED: self = .truncated
        case LATTE_IMG_TOO_LARGE: self = .tooLarge
        case LATTE_IMG_UNSUPPORTED: self = .unsupported
        case LATTE_IMG_NO_MEMORY: self = .outOfMemory
        default: self = .corrupt
        }
    }
}

private func messageString(_ tuple: inout latte_img_decoded) -> String {
    withUnsafeBytes(of: &tuple.message) { raw in
        let bytes = raw.bindMemory(to: UInt8.self)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }
}

private func cLimits(_ limits: ImageLimits) -> latte_img_limits {
    latte_img_limits(max_dimension: UInt32(clamping: limits.maxDimension), max_pixels: UInt64(clamping: limits.maxPixels))
}

/// The decoded result before it is typed as 8- or 16-bit.
struct DecodedSamples {
    var width: Int, height: Int, channels: Int, bitDepth: Int
    var interlaced: Bool
    var bytes: [UInt8]
}

private func runDecoder(
    _ format: String, _ data: [UInt8], file: String,
    _ decode: (UnsafePointer<UInt8>, Int, UnsafeMutablePointer<latte_img_decoded>) -> latte_img_status
) throws -> DecodedSamples {
    var result = latte_img_decoded()
    let status = data.withUnsafeBufferPointer { buffer -> latte_img_status in
        // An empty array has no base address; give the decoder a valid pointer and length 0.
        var empty: UInt8 = 0
        if let base = buffer.baseAddress { return decode(base, buffer.count, &result) }
        return decode(&empty, 0, &result)
    }
    guard status == LATTE_IMG_OK, let pixels = result.pixels else {
        let message = messageString(&result)
        throw ImageError(.init(status), file: file, "\(format): \(message.isEmpty ? "decode failed" : message)")
    }
    defer { latte_img_free(pixels) }
    let count = Int(result.width) * Int(result.height) * Int(result.channels) * Int(result.bit_depth / 8)
    return DecodedSamples(width: Int(result.width), height: Int(result.height), channels: Int(result.channels),
                          bitDepth: Int(result.bit_depth), interlaced: result.interlaced != 0,
                          bytes: [UInt8](UnsafeBufferPointer(start: pixels, count: count)))
}

private func samplesAs16(_ samples: DecodedSamples) -> Image16 {
    if samples.bitDepth == 16 {
        // Copy rather than rebind: nothing guarantees the byte array is 2-byte aligned.
        let count = samples.bytes.count / 2
        let values = [UInt16](unsafeUninitializedCapacity: count) { out, initialized in
            samples.bytes.withUnsafeBytes { UnsafeMutableRawBufferPointer(out).copyMemory(from: $0) }
            initialized = count
        }
        return Image16(width: samples.width, height: samples.height, channels: samples.channels, pixels: values)
    }
    // 8-bit sources widen by 257 so 255 maps to 65535 exactly.
    return Image16(width: samples.width, height: samples.height, channels: samples.channels,
                   pixels: samples.bytes.map { UInt16($0) * 257 })
}

// MARK: - PNG

public enum PNG {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// Decodes any PNG (gray, gray+alpha, RGB, RGBA, palette, tRNS, 1-16 bits, interlaced) to 8 bits.
    /// Palette images become RGB (RGBA with tRNS), gray with tRNS becomes gray+alpha.
    public static func decode(_ data: [UInt8], file: String = "<memory>", limits: ImageLimits = .default) throws -> Image {
        let samples = try runDecoder("PNG", data, file: file) { latte_png_decode($0, $1, 0, cLimits(limits), $2) }
        return Image(width: samples.width, height: samples.height, channels: samples.channels, pixels: samples.bytes)
    }

    /// Decodes keeping 16-bit precision; 8-bit files are widened (v * 257).
    public static func decode16(_ data: [UInt8], file: String = "<memory>", limits: ImageLimits = .default) throws -> Image16 {
        samplesAs16(try runDecoder("PNG", data, file: file) { latte_png_decode($0, $1, 1, cLimits(limits), $2) })
    }

    public static func read(_ path: String, limits: ImageLimits = .default) throws -> Image {
        try decode(try readFileBytes(path), file: path, limits: limits)
    }

    public static func read16(_ path: String, limits: ImageLimits = .default) throws -> Image16 {
        try decode16(try readFileBytes(path), file: path, limits: limits)
    }

    /// Encodes an 8-bit image (1-4 channels) without interlacing. `compressionLevel` is zlib's 0-9.
    public static func encode(_ image: Image, compressionLevel: Int = 6) throws -> [UInt8] {
        try image.pixels.withUnsafeBufferPointer {
            try encodeRaw($0.baseAddress!, image.width, image.height, image.channels, 8, compressionLevel)
        }
    }

    public static func encode(_ image: Image16, compressionLevel: Int = 6) throws -> [UInt8] {
        try image.pixels.withUnsafeBufferPointer {
            try $0.withMemoryRebound(to: UInt8.self) {
                try encodeRaw($0.baseAddress!, image.width, image.height, image.channels, 16, compressionLevel)
            }
        }
    }

    public static func write(_ image: Image, to path: String, compressionLevel: Int = 6) throws {
        try writeFileBytes(try encode(image, compressionLevel: compressionLevel), to: path)
    }

    public static func write(_ image: Image16, to path: String, compressionLevel: Int = 6) throws {
        try writeFileBytes(try encode(image, compressionLevel: compressionLevel), to: path)
    }

    private static func encodeRaw(_ pixels: UnsafePointer<UInt8>, _ width: Int, _ height: Int, _ channels: Int,
                                  _ depth: Int, _ level: Int) throws -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>? = nil
        var size = 0
        var message = [CChar](repeating: 0, count: Int(LATTE_IMG_MESSAGE_SIZE))
        guard width <= Int(Int32.max), height <= Int(Int32.max) else {
            throw ImageError(.tooLarge, file: "<memory>", "PNG encode: \(width)x\(height) is too large")
        }
        let status = latte_png_encode(pixels, Int32(width), Int32(height), Int32(channels), Int32(depth),
                                      Int32(max(0, min(9, level))), &out, &size, &message)
        guard status == LATTE_IMG_OK, let data = out else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw ImageError(.init(status), file: "<memory>", "PNG encode: \(text)")
        }
        defer { latte_img_free(data) }
        return [UInt8](UnsafeBufferPointer(start: data, count: size))
    }
}

// MARK: - JPEG

public enum JPEG {
    /// Decodes baseline and progressive JPEGs to gray (1 channel) or RGB (3 channels); CMYK/YCCK
    /// become RGB by the naive ink formula. Premature end of data is an error, not gray padding.
    public static func decode(_ data: [UInt8], file: String = "<memory>", limits: ImageLimits = .default) throws -> Image {
        let samples = try runDecoder("JPEG", data, file: file) { latte_jpeg_decode($0, $1, cLimits(limits), $2) }
        return Image(width: samples.width, height: samples.height, channels: samples.channels, pixels: samples.bytes)
    }

    public static func read(_ path: String, limits: ImageLimits = .default) throws -> Image {
        try decode(try readFileBytes(path), file: path, limits: limits)
    }
}

// MARK: - Format sniffing

public enum ImageFile {
    /// Reads a PNG or JPEG, chosen by the file's first bytes rather than its extension.
    public static func read(_ path: String, limits: ImageLimits = .default) throws -> Image {
        try decode(try readFileBytes(path), file: path, limits: limits)
    }

    public static func decode(_ data: [UInt8], file: String = "<memory>", limits: ImageLimits = .default) throws -> Image {
        if data.starts(with: PNG.signature) { return try PNG.decode(data, file: file, limits: limits) }
        if data.starts(with: [0xFF, 0xD8]) { return try JPEG.decode(data, file: file, limits: limits) }
        if data.isEmpty { throw ImageError(.truncated, file: file, "file is empty") }
        throw ImageError(.unsupported, file: file, "neither a PNG nor a JPEG (first bytes \(data.prefix(4).map { String(format: "%02x", $0) }.joined()))")
    }
}
