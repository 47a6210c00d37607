// Geometric and colour transforms on 8-bit HWC images. All copy row spans with unsafe pointers.

extension Image {
    /// The rectangle [x, x + width) × [y, y + height); it must lie inside the image.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) throws -> Image {
        guard cropWidth > 0, cropHeight > 0, x >= 0, y >= 0, x + cropWidth <= width, y + cropHeight <= height else {
            throw ImageError(.invalidArgument, file: "<memory>",
                             "crop (\(x), \(y), \(cropWidth)x\(cropHeight)) is outside the \(width)x\(height) image")
        }
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * channels)
        let rowBytes = cropWidth * channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for row in 0..<cropHeight {
                    let from = src.baseAddress! + ((y + row) * width + x) * channels
                    (dst.baseAddress! + row * rowBytes).update(from: from, count: rowBytes)
                }
            }
        }
        return Image(width: cropWidth, height: cropHeight, channels: channels, pixels: out)
    }

    /// A centred crop; offsets round like torchvision's `center_crop` (round((size - crop) / 2)).
    /// A crop larger than the image pads with `fill` first, as torchvision does.
    public func centerCropped(width cropWidth: Int, height cropHeight: Int, fill: UInt8 = 0) throws -> Image {
        var source = self
        if cropWidth > width || cropHeight > height {
            let padX = max(0, cropWidth - width), padY = max(0, cropHeight - height)
            source = try padded(left: padX / 2, top: padY / 2, right: (padX + 1) / 2, bottom: (padY + 1) / 2,
                                fill: [UInt8](repeating: fill, count: channels))
        }
        let x = Int((Double(source.width - cropWidth) / 2).rounded(.toNearestOrEven))
        let y = Int((Double(source.height - cropHeight) / 2).rounded(.toNearestOrEven))
        return try source.cropped(x: x, y: y, width: cropWidth, height: cropHeight)
    }

    /// Adds a constant border; `fill` has one value per channel.
    public func padded(left: Int, top: Int, right: Int, bottom: Int, fill: [UInt8]) throws -> Image {
        guard left >= 0, top >= 0, right >= 0, bottom >= 0 else {
            throw ImageError(.invalidArgument, file: "<memory>", "padding must not be negative")
        }
        guard fill.count == channels else {
            throw ImageError(.invalidArgument, file: "<memory>", "pad fill has \(fill.count) values for \(channels) channels")
        }
        var out = Image(width: width + left + right, height: height + top + bottom, channels: channels, fill: fill)
        let rowBytes = width * channels
        let outWidth = out.width
        pixels.withUnsafeBufferPointer { src in
            out.pixels.withUnsafeMutableBufferPointer { dst in
                for row in 0..<height {
                    (dst.baseAddress! + ((row + top) * outWidth + left) * channels)
                        .update(from: src.baseAddress! + row * rowBytes, count: rowBytes)
                }
            }
        }
        return out
    }

    public func flippedHorizontally() -> Image {
        var out = pixels
        let channels = self.channels, width = self.width
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    let row = y * width * channels
                    for x in 0..<width {
                        let from = row + (width - 1 - x) * channels, to = row + x * channels
                        for c in 0..<channels { dst[to + c] = src[from + c] }
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }

    public func flippedVertically() -> Image {
        var out = pixels
        let rowBytes = width * channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<height {
                    (dst.baseAddress! + y * rowBytes).update(from: src.baseAddress! + (height - 1 - y) * rowBytes, count: rowBytes)
                }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }

    /// Gray (1 channel) by ITU-R 601-2 luma, L = (19595 R + 38470 G + 7471 B + 2^15) >> 16, the fixed
    /// point Pillow's `convert("L")` uses. Alpha is dropped; gray input is returned without alpha.
    public func toGray() -> Image {
        if channels == 1 { return self }
        if channels == 2 { return dropAlpha() }
        var out = [UInt8](repeating: 0, count: width * height)
        let channels = self.channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<dst.count {
                    let p = i * channels
                    let luma = 19595 * UInt32(src[p]) + 38470 * UInt32(src[p + 1]) + 7471 * UInt32(src[p + 2])
                    dst[i] = UInt8((luma + 0x8000) >> 16)
                }
            }
        }
        return Image(width: width, height: height, channels: 1, pixels: out)
    }

    /// RGB (3 channels): gray is replicated, alpha is dropped (see `composited(over:)` to flatten it instead).
    public func toRGB() -> Image {
        switch channels {
        case 3: return self
        case 4: return dropAlpha()
        default:
            let gray = channels == 1 ? self : dropAlpha()
            var out = [UInt8](repeating: 0, count: width * height * 3)
            gray.pixels.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for i in 0..<src.count {
                        dst[3 * i] = src[i]; dst[3 * i + 1] = src[i]; dst[3 * i + 2] = src[i]
                    }
                }
            }
            return Image(width: width, height: height, channels: 3, pixels: out)
        }
    }

    /// Flattens alpha onto a solid background (e.g. white for emoji), rounding to nearest.
    public func composited(over background: [UInt8]) -> Image {
        guard channels == 2 || channels == 4 else { return self }
        let colour = channels - 1
        precondition(background.count == colour, "background needs one value per colour channel")
        var out = [UInt8](repeating: 0, count: width * height * colour)
        let channels = self.channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(width * height) {
                    let a = UInt32(src[i * channels + colour])
                    for c in 0..<colour {
                        let v = UInt32(src[i * channels + c]) * a + UInt32(background[c]) * (255 - a)
                        dst[i * colour + c] = UInt8((v + 127) / 255)
                    }
                }
            }
        }
        return Image(width: width, height: height, channels: colour, pixels: out)
    }

    private func dropAlpha() -> Image {
        let colour = channels - 1
        var out = [UInt8](repeating: 0, count: width * height * colour)
        let channels = self.channels
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<(width * height) {
                    for c in 0..<colour { dst[i * colour + c] = src[i * channels + c] }
                }
            }
        }
        return Image(width: width, height: height, channels: colour, pixels: out)
    }
}

// MARK: - Float conversion, normalisation and layout

extension Image {
    /// Samples scaled to [0, 1] (v / 255), still HWC.
    public func toFloat() -> FloatImage {
        var out = [Float](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = Float(src[i]) * (1 / 255) }
            }
        }
        return FloatImage(width: width, height: height, channels: channels, pixels: out)
    }

    /// Planar CHW floats: ((v / 255) − mean[c]) / std[c]. Empty mean/std mean 0 and 1.
    /// With mean 0.5 and std 0.5 this gives the [−1, 1] range diffusion models expect.
    public func planarFloats(mean: [Float] = [], std: [Float] = []) -> [Float] {
        toFloat().normalized(mean: mean, std: std).planar()
    }

    /// Inverse of `planarFloats`: undoes the normalisation, clamps to [0, 1] and rounds to 8 bits.
    public init(planar: [Float], width: Int, height: Int, channels: Int, mean: [Float] = [], std: [Float] = []) {
        let hwc = FloatImage(planar: planar, width: width, height: height, channels: channels)
        self = hwc.denormalized(mean: mean, std: std).toImage()
    }
}

extension FloatImage {
    /// Builds an HWC image from planar CHW samples.
    public init(planar: [Float], width: Int, height: Int, channels: Int) {
        precondition(planar.count == width * height * channels, "planar buffer does not match width*height*channels")
        var hwc = [Float](repeating: 0, count: planar.count)
        let plane = width * height
        planar.withUnsafeBufferPointer { src in
            hwc.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    for i in 0..<plane { dst[i * channels + c] = src[c * plane + i] }
                }
            }
        }
        self.init(width: width, height: height, channels: channels, pixels: hwc)
    }

    /// The samples as planar CHW.
    public func planar() -> [Float] {
        var out = [Float](repeating: 0, count: pixels.count)
        writePlanar(into: &out, offset: 0)
        return out
    }

    /// Writes the CHW samples into `buffer` starting at `offset` (used to fill N×C×H×W batches in place).
    public func writePlanar(into buffer: inout [Float], offset: Int) {
        precondition(offset >= 0 && offset + pixels.count <= buffer.count, "planar destination too small")
        let plane = width * height, channels = self.channels
        pixels.withUnsafeBufferPointer { src in
            buffer.withUnsafeMutableBufferPointer { dst in
                let base = dst.baseAddress! + offset
                for c in 0..<channels {
                    let out = base + c * plane
                    for i in 0..<plane { out[i] = src[i * channels + c] }
                }
            }
        }
    }

    /// (x − mean[c]) / std[c] per channel; a single value applies to every channel.
    public func normalized(mean: [Float], std: [Float]) -> FloatImage {
        let (m, s) = perChannel(mean: mean, std: std)
        var out = pixels
        let channels = self.channels
        out.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { let c = i % channels; p[i] = (p[i] - m[c]) / s[c] }
        }
        return FloatImage(width: width, height: height, channels: channels, pixels: out)
    }

    /// x · std[c] + mean[c], the inverse of `normalized`.
    public func denormalized(mean: [Float], std: [Float]) -> FloatImage {
        let (m, s) = perChannel(mean: mean, std: std)
        var out = pixels
        let channels = self.channels
        out.withUnsafeMutableBufferPointer { p in
            for i in 0..<p.count { let c = i % channels; p[i] = p[i] * s[c] + m[c] }
        }
        return FloatImage(width: width, height: height, channels: channels, pixels: out)
    }

    /// Clamps to [0, 1] and rounds to 8 bits (channels must be 1-4).
    public func toImage() -> Image {
        var out = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<src.count { dst[i] = UInt8(min(max(src[i], 0), 1) * 255 + 0.5) }
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }

    private func perChannel(mean: [Float], std: [Float]) -> ([Float], [Float]) {
        func expand(_ v: [Float], _ fallback: Float, _ what: String) -> [Float] {
            if v.isEmpty { return [Float](repeating: fallback, count: channels) }
            if v.count == 1 { return [Float](repeating: v[0], count: channels) }
            precondition(v.count == channels, "\(what) has \(v.count) values for \(channels) channels")
            return v
        }
        let s = expand(std, 1, "std")
        precondition(!s.contains(0), "std must not contain zero")
        return (expand(mean, 0, "mean"), s)
    }
}
