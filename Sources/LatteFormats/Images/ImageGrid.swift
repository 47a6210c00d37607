/// Sample sheets: equal-size images laid out in rows × columns with a margin around and between them.
public enum ImageGrid {
    /// Lays `images` out row by row, `columns` per row (the last row may be short).
    /// Gray images are promoted to RGB when mixed with colour ones; alpha is kept only if every image has it.
    public static func make(_ images: [Image], columns: Int, margin: Int = 2, background: UInt8 = 255) throws -> Image {
        guard let first = images.first else {
            throw ImageError(.invalidArgument, file: "<memory>", "image grid needs at least one image")
        }
        guard columns > 0, margin >= 0 else {
            throw ImageError(.invalidArgument, file: "<memory>", "image grid needs columns > 0 and margin >= 0")
        }
        for (i, image) in images.enumerated() where image.width != first.width || image.height != first.height {
            throw ImageError(.invalidArgument, file: "<memory>",
                             "image grid: image \(i) is \(image.width)x\(image.height), expected \(first.width)x\(first.height)")
        }
        let channels = commonChannels(images)
        let cols = min(columns, images.count)
        let rows = (images.count + cols - 1) / cols
        let cellW = first.width, cellH = first.height
        let width = cols * cellW + (cols + 1) * margin
        let height = rows * cellH + (rows + 1) * margin
        var fill = [UInt8](repeating: background, count: channels)
        if channels == 2 || channels == 4 { fill[channels - 1] = 255 }
        var sheet = Image(width: width, height: height, channels: channels, fill: fill)
        let rowBytes = cellW * channels
        for (i, image) in images.enumerated() {
            let cell = convert(image, to: channels)
            let x0 = margin + (i % cols) * (cellW + margin)
            let y0 = margin + (i / cols) * (cellH + margin)
            cell.pixels.withUnsafeBufferPointer { src in
                sheet.pixels.withUnsafeMutableBufferPointer { dst in
                    for y in 0..<cellH {
                        (dst.baseAddress! + ((y0 + y) * width + x0) * channels)
                            .update(from: src.baseAddress! + y * rowBytes, count: rowBytes)
                    }
                }
            }
        }
        return sheet
    }

    /// Builds the grid and writes it as a PNG.
    public static func write(_ images: [Image], columns: Int, margin: Int = 2, background: UInt8 = 255, to path: String) throws {
        try PNG.write(make(images, columns: columns, margin: margin, background: background), to: path)
    }

    private static func commonChannels(_ images: [Image]) -> Int {
        let colour = images.contains { $0.channels >= 3 }
        let alpha = images.allSatisfy { $0.channels == 2 || $0.channels == 4 }
        return (colour ? 3 : 1) + (alpha ? 1 : 0)
    }

    private static func convert(_ image: Image, to channels: Int) -> Image {
        if image.channels == channels { return image }
        switch channels {
        case 1: return image.toGray()
        case 3: return image.toRGB()
        case 4:  // only reached for gray+alpha into RGBA
            var out = [UInt8](repeating: 0, count: image.width * image.height * 4)
            for i in 0..<(image.width * image.height) {
                let g = image.pixels[2 * i], a = image.pixels[2 * i + 1]
                out[4 * i] = g; out[4 * i + 1] = g; out[4 * i + 2] = g; out[4 * i + 3] = a
            }
            return Image(width: image.width, height: image.height, channels: 4, pixels: out)
        default: return image.toGray()
        }
    }
}
