import Foundation
import LatteFormats
import LatteTensor

// MARK: - Processor

/// One image's patch grid: temporal × height × width patches (before the 2×2 merge).
public struct Qwen2VLImageGrid: Sendable, Equatable, CustomStringConvertible {
    public var t: Int
    public var h: Int
    public var w: Int
    public init(t: Int, h: Int, w: Int) { (self.t, self.h, self.w) = (t, h, w) }
    public var patchCount: Int { t * h * w }
    /// Language-model tokens (`<|image_pad|>`s) after the merger folds merge×merge patches into one.
    public func mergedTokenCount(mergeSize: Int) -> Int { patchCount / (mergeSize * mergeSize) }
    public var description: String { "[\(t), \(h), \(w)]" }
}

/// Images ready for the vision tower: every image's patches concatenated, one row of
/// channels × temporal × patch × patch values each, and each image's grid (`image_grid_thw`).
public struct Qwen2VLVisionInput {
    public var pixelValues: Tensor
    public var grids: [Qwen2VLImageGrid]
    public init(pixelValues: Tensor, grids: [Qwen2VLImageGrid]) { (self.pixelValues, self.grids) = (pixelValues, grids) }
}

/// transformers' `Qwen2VLImageProcessor` (the Pillow backend): convert to RGB (alpha composited on
/// white), `smart_resize` to multiples of patch × merge within [minPixels, maxPixels], bicubic resize
/// of the 8-bit image (Pillow-exact), rescale by 1/255, normalise with CLIP's mean and std, repeat the
/// frame `temporalPatchSize` times and flatten patches in merge-block order.
public struct Qwen2VLImageProcessor: Sendable, Equatable {
    public static let clipMean: [Float] = [0.48145466, 0.4578275, 0.40821073]
    public static let clipStd: [Float] = [0.26862954, 0.26130258, 0.27577711]

    public var minPixels: Int
    public var maxPixels: Int
    public var patchSize: Int
    public var temporalPatchSize: Int
    public var mergeSize: Int
    public var mean: [Float]
    public var std: [Float]
    public var rescaleFactor: Double

    public init(minPixels: Int = 56 * 56, maxPixels: Int = 28 * 28 * 1280, patchSize: Int = 14, temporalPatchSize: Int = 2,
                mergeSize: Int = 2, mean: [Float] = Qwen2VLImageProcessor.clipMean, std: [Float] = Qwen2VLImageProcessor.clipStd,
                rescaleFactor: Double = 1.0 / 255) {
        (self.minPixels, self.maxPixels, self.patchSize, self.temporalPatchSize, self.mergeSize) =
            (minPixels, maxPixels, patchSize, temporalPatchSize, mergeSize)
        (self.mean, self.std, self.rescaleFactor) = (mean, std, rescaleFactor)
    }

    /// From a `preprocessor_config.json`: min/max pixels at the top level (Hub checkpoints), or as
    /// `size.shortest_edge` / `size.longest_edge` (transformers 5.x) or `size.min_pixels` / `size.max_pixels`.
    public init(preprocessorConfig url: URL) throws {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LLaMAError(file: url.path, "cannot read: \(error.localizedDescription)")
        }
        guard let root = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw LLaMAError(file: url.path, "not a JSON object")
        }
        let j = JSONFields(root, file: url.path, prefix: "")
        let size = try j.object("size")
        self.init()
        if let v = try size?.int("shortest_edge") ?? size?.int("min_pixels") ?? j.int("min_pixels") { minPixels = v }
        if let v = try size?.int("longest_edge") ?? size?.int("max_pixels") ?? j.int("max_pixels") { maxPixels = v }
        if let v = try j.int("patch_size") { patchSize = v }
        if let v = try j.int("temporal_patch_size") { temporalPatchSize = v }
        if let v = try j.int("merge_size") { mergeSize = v }
        if let v = try j.double("rescale_factor") { rescaleFactor = v }
        if let m = try j.doubles("image_mean") { mean = m.map(Float.init) }
        if let s = try j.doubles("image_std") { std = s.map(Float.init) }
        if try j.bool("do_resize") == false || j.bool("do_rescale") == false || j.bool("do_normalize") == false {
            throw LLaMAError(file: url.path, "do_resize / do_rescale / do_normalize false is not supported")
        }
        if let r = try j.int("resample"), r != 3 {
            throw LLaMAError(file: url.path, "resample \(r) is not supported (3, bicubic)")
        }
        guard minPixels > 0, maxPixels >= minPixels, patchSize > 0, temporalPatchSize > 0, mergeSize > 0,
              mean.count == 3, std.count == 3, std.allSatisfy({ $0 > 0 }) else {
            throw LLaMAError(file: url.path, "inconsistent values: min/max pixels \(minPixels)/\(maxPixels), patch \(patchSize), temporal \(temporalPatchSize), merge \(mergeSize), mean \(mean), std \(std)")
        }
    }

    /// transformers' `smart_resize`: both sides multiples of `factor`, the area within
    /// [minPixels, maxPixels], the aspect ratio kept as closely as possible. Python's `round` rounds
    /// halves to even, and the float operations follow its order.
    public static func smartResize(height: Int, width: Int, factor: Int = 28, minPixels: Int = 56 * 56,
                                   maxPixels: Int = 28 * 28 * 1280) throws -> (height: Int, width: Int) {
        guard height > 0, width > 0 else { throw LLaMAError(file: "image", "size \(width)×\(height) is empty") }
        let ratio = Double(max(height, width)) / Double(min(height, width))
        guard ratio <= 200 else { throw LLaMAError(file: "image", "aspect ratio \(ratio) of \(width)×\(height) exceeds 200") }
        let f = Double(factor)
        var h = Int((Double(height) / f).rounded(.toNearestOrEven)) * factor
        var w = Int((Double(width) / f).rounded(.toNearestOrEven)) * factor
        if h * w > maxPixels {
            let beta = (Double(height * width) / Double(maxPixels)).squareRoot()
            h = max(factor, Int((Double(height) / beta / f).rounded(.down)) * factor)
            w = max(factor, Int((Double(width) / beta / f).rounded(.down)) * factor)
        } else if h * w < minPixels {
            let beta = (Double(minPixels) / Double(height * width)).squareRoot()
            h = Int((Double(height) * beta / f).rounded(.up)) * factor
            w = Int((Double(width) * beta / f).rounded(.up)) * factor
        }
        return (h, w)
    }

    /// Processes images (any channel count) into the vision tower's input.
    public func callAsFunction(_ images: [Image]) throws -> Qwen2VLVisionInput {
        guard !images.isEmpty else { throw LLaMAError(file: "image processor", "no images") }
        var grids: [Qwen2VLImageGrid] = []
        var parts: [Tensor] = []
        for image in images {
            let (pixels, grid) = try process(image)
            parts.append(pixels)
            grids.append(grid)
        }
        return Qwen2VLVisionInput(pixelValues: parts.count == 1 ? parts[0] : Tensor.concat(parts, axis: 0), grids: grids)
    }

    /// One image → patches [h·w, 3·T·P·P] and its grid.
    public func process(_ image: Image) throws -> (Tensor, Qwen2VLImageGrid) {
        let rgb = (image.channels == 2 || image.channels == 4) ? image.composited(over: image.channels == 2 ? [255] : [255, 255, 255]).toRGB() : image.toRGB()
        let factor = patchSize * mergeSize
        let (th, tw) = try Self.smartResize(height: rgb.height, width: rgb.width, factor: factor, minPixels: minPixels, maxPixels: maxPixels)
        let resized = Self.pillowResize(rgb, width: tw, height: th)
        let gh = th / patchSize, gw = tw / patchSize, p = patchSize, tp = temporalPatchSize, m = mergeSize
        let rowLength = 3 * tp * p * p
        let out = Tensor.empty([gh * gw, rowLength])
        // Per-channel lookup of the 256 possible normalised values: rescale in float64 then cast to
        // float32 (transformers' `rescale`), then (x − mean) / std.
        var table = [Float](repeating: 0, count: 3 * 256)
        for c in 0..<3 {
            for v in 0..<256 {
                let x = Float(Double(v) * rescaleFactor)
                table[c * 256 + v] = Float((Double(x) - Double(mean[c])) / Double(std[c]))
            }
        }
        resized.pixels.withUnsafeBufferPointer { src in
            table.withUnsafeBufferPointer { lut in
                let dst = out.f32
                var row = 0
                // Row order: merge block (bh, bw), then the patch inside it (mh, mw).
                for bh in 0..<(gh / m) {
                    for bw in 0..<(gw / m) {
                        for mh in 0..<m {
                            for mw in 0..<m {
                                let y0 = (bh * m + mh) * p, x0 = (bw * m + mw) * p
                                let base = dst + row * rowLength
                                // Values inside a row: channel, temporal copy, patch y, patch x.
                                for c in 0..<3 {
                                    for py in 0..<p {
                                        let s = src.baseAddress! + ((y0 + py) * tw + x0) * 3 + c
                                        let d = base + (c * tp * p + py) * p
                                        for px in 0..<p { d[px] = lut[c * 256 + Int(s[px * 3])] }
                                    }
                                    for t in 1..<max(tp, 1) {
                                        (base + (c * tp + t) * p * p).update(from: base + c * tp * p * p, count: p * p)
                                    }
                                }
                                row += 1
                            }
                        }
                    }
                }
            }
        }
        return (out, Qwen2VLImageGrid(t: 1, h: gh, w: gw))
    }
}

extension Qwen2VLImageProcessor {
    /// Bicubic resize in Pillow 13's pass order. Each pass rounds to 8 bits, so the order changes
    /// pixels: Pillow ≥ 13 runs the vertical pass first when the height shrinks by more than twice as
    /// many pixels as the width (python-pillow/Pillow#9549; rule fitted exactly on 228 random size
    /// pairs against Pillow 13.0). `Image.resized` always goes horizontal first, so the vertical-first
    /// case is two single-axis resizes.
    static func pillowResize(_ image: Image, width: Int, height: Int) -> Image {
        let verticalFirst = height < image.height && (image.height - height) > 2 * (image.width - width)
        guard verticalFirst, width != image.width else { return image.resized(width: width, height: height, filter: .bicubic) }
        return image.resized(width: image.width, height: height, filter: .bicubic).resized(width: width, height: height, filter: .bicubic)
    }
}

extension JSONFields {
    func doubles(_ key: String) throws -> [Double]? {
        guard let v = values[key], !(v is NSNull) else { return nil }
        guard let list = v as? [NSNumber] else { throw LLaMAError(file: file, "'\(prefix)\(key)' is not a list of numbers") }
        return list.map(\.doubleValue)
    }
}
