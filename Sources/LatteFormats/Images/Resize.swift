// Resampling that reproduces Pillow's `Image.resize` for BILINEAR and BICUBIC.
//
// Pillow's algorithm (as documented by its behaviour and checked against it by
// scripts/make_image_fixtures.py): a separable convolution, horizontal pass first, then vertical.
// When downscaling the filter is stretched by the scale factor (support × in/out), which is
// what antialiases. Each output sample's weights are normalised to sum to 1. For 8-bit images the
// weights are rounded to 22-bit fixed point, sums start at one half for rounding, and the
// intermediate image between the passes is itself 8-bit, so each pass rounds and clamps.
// RGBA and LA images are resized with premultiplied alpha, as Pillow converts them to RGBa / La.

public enum ResampleFilter: Sendable {
    case bilinear
    case bicubic

    /// Half-width of the filter kernel at scale 1.
    var support: Double {
        switch self {
        case .bilinear: return 1
        case .bicubic: return 2
        }
    }

    func weight(_ t: Double) -> Double {
        let x = abs(t)
        switch self {
        case .bilinear:
            return x < 1 ? 1 - x : 0
        case .bicubic:
            // Keys cubic with a = -0.5, the coefficient Pillow uses.
            let a = -0.5
            if x < 1 { return ((a + 2) * x - (a + 3)) * x * x + 1 }
            if x < 2 { return (((x - 5) * x + 8) * x - 4) * a }
            return 0
        }
    }
}

/// Per-output-sample filter taps along one axis: taps for output i read inputs start[i] ..< start[i] + count[i].
struct ResampleTaps {
    var start: [Int]
    var count: [Int]
    var stride: Int        // taps stored per output sample
    var weights: [Double]  // outSize * stride, normalised to sum 1

    init(inSize: Int, outSize: Int, filter: ResampleFilter) {
        let scale = Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        stride = Int(support.rounded(.up)) * 2 + 1
        start = [Int](repeating: 0, count: outSize)
        count = [Int](repeating: 0, count: outSize)
        weights = [Double](repeating: 0, count: outSize * stride)
        let inverse = 1 / filterScale
        for i in 0..<outSize {
            let center = (Double(i) + 0.5) * scale
            // Int(...) truncates toward zero, matching the C cast in the reference.
            let lo = max(Int(center - support + 0.5), 0)
            let hi = min(Int(center + support + 0.5), inSize)
            let n = min(max(hi - lo, 0), stride)
            var sum = 0.0
            for k in 0..<n {
                let w = filter.weight((Double(k + lo) - center + 0.5) * inverse)
                weights[i * stride + k] = w
                sum += w
            }
            if sum != 0 { for k in 0..<n { weights[i * stride + k] /= sum } }
            start[i] = lo
            count[i] = n
        }
    }

    /// Weights in signed fixed point with `bits` fractional bits, rounded half away from zero.
    func fixedPoint(bits: Int) -> [Int32] {
        let one = Double(1 << bits)
        return weights.map { Int32($0 < 0 ? $0 * one - 0.5 : $0 * one + 0.5) }
    }
}

/// 32 − 8 − 2: the largest precision for which a sum of 8-bit samples times weights fits in Int32.
private let fixedBits = 22

private func clampFixed(_ sum: Int32) -> UInt8 {
    let v = sum >> Int32(fixedBits)
    return v < 0 ? 0 : v > 255 ? 255 : UInt8(v)
}

private func resampleHorizontal8(_ src: UnsafePointer<UInt8>, width: Int, rows: Int, channels: Int,
                                 taps: ResampleTaps, kernel: UnsafePointer<Int32>, outWidth: Int,
                                 into dst: UnsafeMutablePointer<UInt8>) {
    let half = Int32(1 << (fixedBits - 1))
    taps.start.withUnsafeBufferPointer { starts in
        taps.count.withUnsafeBufferPointer { counts in
            for y in 0..<rows {
                let row = src + y * width * channels
                let outRow = dst + y * outWidth * channels
                for x in 0..<outWidth {
                    let k = kernel + x * taps.stride
                    let base = row + starts[x] * channels
                    let n = counts[x]
                    for c in 0..<channels {
                        var sum = half
                        var p = base + c
                        for t in 0..<n {
                            sum &+= Int32(p.pointee) &* k[t]
                            p += channels
                        }
                        outRow[x * channels + c] = clampFixed(sum)
                    }
                }
            }
        }
    }
}

private func resampleVertical8(_ src: UnsafePointer<UInt8>, width: Int, channels: Int, firstRow: Int,
                               taps: ResampleTaps, kernel: UnsafePointer<Int32>, outHeight: Int,
                               into dst: UnsafeMutablePointer<UInt8>) {
    let half = Int32(1 << (fixedBits - 1))
    let rowLength = width * channels
    // One accumulator row, so each input row is streamed once per tap (vectorisable inner loop).
    let acc = UnsafeMutablePointer<Int32>.allocate(capacity: rowLength)
    defer { acc.deallocate() }
    for y in 0..<outHeight {
        let k = kernel + y * taps.stride
        acc.initialize(repeating: half, count: rowLength)
        for t in 0..<taps.count[y] {
            let row = src + (taps.start[y] - firstRow + t) * rowLength
            let w = k[t]
            for i in 0..<rowLength { acc[i] &+= Int32(row[i]) &* w }
        }
        let outRow = dst + y * rowLength
        for i in 0..<rowLength { outRow[i] = clampFixed(acc[i]) }
    }
}

extension Image {
    /// Resizes like Pillow's `Image.resize((width, height), filter)`, antialiasing when downscaling.
    public func resized(width outWidth: Int, height outHeight: Int, filter: ResampleFilter = .bicubic) -> Image {
        precondition(outWidth > 0 && outHeight > 0, "resize target must be positive")
        if outWidth == width && outHeight == height { return self }
        let hasAlpha = channels == 2 || channels == 4
        let source = hasAlpha ? premultipliedAlpha() : self
        let horizontal = ResampleTaps(inSize: width, outSize: outWidth, filter: filter)
        let vertical = ResampleTaps(inSize: height, outSize: outHeight, filter: filter)
        let hKernel = horizontal.fixedPoint(bits: fixedBits)
        let vKernel = vertical.fixedPoint(bits: fixedBits)
        let needH = outWidth != width
        let needV = outHeight != height
        // Each pass rounds to 8 bits, so the order shows in the pixels. Pillow ≥ 13 runs the vertical
        // pass first when the height shrinks by more than twice as many pixels as the width.
        if needH && needV && outHeight < height && height - outHeight > 2 * (width - outWidth) {
            var mid = [UInt8](repeating: 0, count: width * outHeight * channels)
            source.pixels.withUnsafeBufferPointer { src in
                vKernel.withUnsafeBufferPointer { k in
                    mid.withUnsafeMutableBufferPointer { dst in
                        resampleVertical8(src.baseAddress!, width: width, channels: channels, firstRow: 0,
                                          taps: vertical, kernel: k.baseAddress!, outHeight: outHeight, into: dst.baseAddress!)
                    }
                }
            }
            var out = [UInt8](repeating: 0, count: outWidth * outHeight * channels)
            mid.withUnsafeBufferPointer { src in
                hKernel.withUnsafeBufferPointer { k in
                    out.withUnsafeMutableBufferPointer { dst in
                        resampleHorizontal8(src.baseAddress!, width: width, rows: outHeight, channels: channels, taps: horizontal,
                                            kernel: k.baseAddress!, outWidth: outWidth, into: dst.baseAddress!)
                    }
                }
            }
            let result = Image(width: outWidth, height: outHeight, channels: channels, pixels: out)
            return hasAlpha ? result.unpremultipliedAlpha() : result
        }
        // Only the input rows the vertical pass reads need the horizontal pass.
        let firstRow = needV ? vertical.start[0] : 0
        let lastRow = needV ? vertical.start[outHeight - 1] + vertical.count[outHeight - 1] : height

        var stage = source.pixels
        var stageWidth = width
        var stageFirstRow = 0
        if needH {
            let rows = lastRow - firstRow
            var out = [UInt8](repeating: 0, count: outWidth * rows * channels)
            source.pixels.withUnsafeBufferPointer { src in
                hKernel.withUnsafeBufferPointer { k in
                    out.withUnsafeMutableBufferPointer { dst in
                        resampleHorizontal8(src.baseAddress! + firstRow * width * channels, width: width, rows: rows,
                                            channels: channels, taps: horizontal, kernel: k.baseAddress!,
                                            outWidth: outWidth, into: dst.baseAddress!)
                    }
                }
            }
            stage = out
            stageWidth = outWidth
            stageFirstRow = firstRow
        }
        if needV {
            var out = [UInt8](repeating: 0, count: outWidth * outHeight * channels)
            stage.withUnsafeBufferPointer { src in
                vKernel.withUnsafeBufferPointer { k in
                    out.withUnsafeMutableBufferPointer { dst in
                        resampleVertical8(src.baseAddress!, width: stageWidth, channels: channels, firstRow: stageFirstRow,
                                          taps: vertical, kernel: k.baseAddress!, outHeight: outHeight, into: dst.baseAddress!)
                    }
                }
            }
            stage = out
        }
        let result = Image(width: outWidth, height: outHeight, channels: channels, pixels: stage)
        return hasAlpha ? result.unpremultipliedAlpha() : result
    }

    /// Colour × alpha / 255 with Pillow's rounding ((t + (t >> 8)) >> 8 with t = a·b + 128).
    func premultipliedAlpha() -> Image {
        var out = pixels
        let colour = channels - 1
        out.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                let alpha = UInt32(p[i + colour])
                for c in 0..<colour {
                    let t = UInt32(p[i + c]) * alpha + 128
                    p[i + c] = UInt8((t + (t >> 8)) >> 8)
                }
                i += channels
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }

    /// Inverse of `premultipliedAlpha`: colour × 255 / alpha, truncated and clamped; alpha 0 and 255 leave colour as is.
    func unpremultipliedAlpha() -> Image {
        var out = pixels
        let colour = channels - 1
        out.withUnsafeMutableBufferPointer { p in
            var i = 0
            while i < p.count {
                let alpha = UInt32(p[i + colour])
                if alpha != 0 && alpha != 255 {
                    for c in 0..<colour { p[i + c] = UInt8(min(255, UInt32(p[i + c]) * 255 / alpha)) }
                }
                i += channels
            }
        }
        return Image(width: width, height: height, channels: channels, pixels: out)
    }
}

extension FloatImage {
    /// The same resampling in floating point (Pillow's mode "F" path): no rounding between passes.
    public func resized(width outWidth: Int, height outHeight: Int, filter: ResampleFilter = .bicubic) -> FloatImage {
        precondition(outWidth > 0 && outHeight > 0, "resize target must be positive")
        if outWidth == width && outHeight == height { return self }
        let horizontal = ResampleTaps(inSize: width, outSize: outWidth, filter: filter)
        let vertical = ResampleTaps(inSize: height, outSize: outHeight, filter: filter)
        var mid = [Float](repeating: 0, count: outWidth * height * channels)
        let channels = self.channels, width = self.width, height = self.height
        pixels.withUnsafeBufferPointer { src in
            horizontal.weights.withUnsafeBufferPointer { w in
                horizontal.start.withUnsafeBufferPointer { starts in
                    horizontal.count.withUnsafeBufferPointer { counts in
                        mid.withUnsafeMutableBufferPointer { dst in
                            for y in 0..<height {
                                for x in 0..<outWidth {
                                    let base = src.baseAddress! + (y * width + starts[x]) * channels
                                    let k = w.baseAddress! + x * horizontal.stride
                                    for c in 0..<channels {
                                        var sum = 0.0
                                        for t in 0..<counts[x] { sum += Double(base[t * channels + c]) * k[t] }
                                        dst[(y * outWidth + x) * channels + c] = Float(sum)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        var out = [Float](repeating: 0, count: outWidth * outHeight * channels)
        let rowLength = outWidth * channels
        mid.withUnsafeBufferPointer { src in
            vertical.weights.withUnsafeBufferPointer { w in
                out.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<outHeight {
                        let outRow = dst.baseAddress! + y * rowLength
                        for t in 0..<vertical.count[y] {
                            let weight = Float(w[y * vertical.stride + t])
                            let row = src.baseAddress! + (vertical.start[y] + t) * rowLength
                            for i in 0..<rowLength { outRow[i] += row[i] * weight }
                        }
                    }
                }
            }
        }
        return FloatImage(width: outWidth, height: outHeight, channels: channels, pixels: out)
    }
}
