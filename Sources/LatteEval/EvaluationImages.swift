import Foundation
import LatteFormats
import LatteTensor

/// Image sets for evaluation as tensors [N, C, H, W] in [0, 1].
public enum EvaluationImages {
    /// Fashion-MNIST from the asset cache: images [N, 1, 28, 28] and labels. `limit` takes the first N.
    public static func fashionMNIST(split: IDXDataset.Split, limit: Int? = nil, assetCache: AssetCache = AssetCache()) throws -> (images: Tensor, labels: [Int]) {
        let directory = try assetCache.require("fashion-mnist").deletingLastPathComponent()
        let dataset = try IDXDataset.fashionMNIST(directory: directory.path, split: split)
        let n = min(limit ?? dataset.count, dataset.count)
        let (h, w) = (dataset.height, dataset.width)
        let images = Tensor.empty([n, 1, h, w])
        var labels: [Int] = []
        labels.reserveCapacity(n)
        for i in 0..<n {
            let item = try dataset.item(at: i)
            item.image.pixels.withUnsafeBufferPointer { px in
                let dst = images.f32 + i * h * w
                for k in 0..<(h * w) { dst[k] = Float(px[k]) / 255 }
            }
            labels.append(item.label)
        }
        return (images, labels)
    }

    /// Every .png/.jpg/.jpeg directly in `folder` (sorted by name) as one tensor. Grey (and grey+alpha)
    /// images give one channel; if any image has colour, all become RGB; alpha is dropped. All images
    /// must share one size (the FID network resizes, but a batch needs one shape).
    public static func folder(_ folder: URL) throws -> (images: Tensor, files: [String]) {
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw FIDError("\(folder.path): not a folder of images")
        }
        let names = try fm.contentsOfDirectory(atPath: folder.path)
            .filter { ImageFolderDataset.imageExtensions.contains(($0 as NSString).pathExtension.lowercased()) && !$0.hasPrefix(".") }
            .sorted()
        guard !names.isEmpty else { throw FIDError("\(folder.path): no .png/.jpg/.jpeg files") }
        let decoded = try names.map { try ImageFile.read(folder.appendingPathComponent($0).path) }
        let (w, h) = (decoded[0].width, decoded[0].height)
        if let bad = decoded.firstIndex(where: { $0.width != w || $0.height != h }) {
            throw FIDError("\(folder.appendingPathComponent(names[bad]).path): \(decoded[bad].width)×\(decoded[bad].height), but \(names[0]) is \(w)×\(h); all images must share one size")
        }
        let channels = decoded.contains { $0.channels >= 3 } ? 3 : 1
        let out = Tensor.empty([decoded.count, channels, h, w])
        for (i, img) in decoded.enumerated() {
            for c in 0..<channels {
                let source = img.channels >= 3 ? c : 0
                let dst = out.f32 + (i * channels + c) * h * w
                for y in 0..<h { for x in 0..<w { dst[y * w + x] = Float(img[x, y, source]) / 255 } }
            }
        }
        return (out, names)
    }
}

/// FID against Fashion-MNIST's 10k test images, whose statistics are computed once per machine and
/// cached beside the converted network, keyed by content:
/// `$LATTE_HOME/fid-inception/statistics/fashion-mnist-t10k-<hash>.safetensors`, where the hash covers
/// the images' shape and 8-bit pixels, the network file and the statistics version
/// (InceptionFeatureCache.key). Other test images or another network give another file, so a stale
/// entry is never read; the file is written atomically, so concurrent evaluations cannot see half of it.
public enum FashionMNISTFID {
    static let statisticsVersion = "1"

    /// Where the statistics of `images` (the test split as `EvaluationImages.fashionMNIST` loads it) live.
    public static func statisticsFile(for images: Tensor, assetCache: AssetCache = AssetCache()) throws -> URL {
        let weights = try InceptionFIDWeights.convertedFile(assetCache: assetCache)
        let tag = InceptionFeatureCache.networkTag(of: weights) + "|statistics v\(statisticsVersion)"
        return weights.deletingLastPathComponent().appendingPathComponent("statistics")
            .appendingPathComponent("fashion-mnist-t10k-\(InceptionFeatureCache.key(images, networkTag: tag)).safetensors")
    }

    /// The cached test-split statistics, computing them (minutes) on first use.
    public static func testStatistics(network: InceptionFID, assetCache: AssetCache = AssetCache(),
                                      log: (String) -> Void = { _ in }, progress: (Int, Int) -> Void = { _, _ in }) throws -> FIDStatistics {
        let (images, _) = try EvaluationImages.fashionMNIST(split: .test, assetCache: assetCache)
        let url = try statisticsFile(for: images, assetCache: assetCache)
        if FileManager.default.fileExists(atPath: url.path) {
            do {
                let stats = try FIDStatistics(contentsOf: url)
                if stats.count == images.dim(0) && stats.dimension == InceptionFID.featureDimension { return stats }
                log("ignoring \(url.path): \(stats.count) images of dimension \(stats.dimension), expected \(images.dim(0)) of \(InceptionFID.featureDimension)")
            } catch { log("ignoring unreadable \(url.path): \(error)") }
        }
        log("computing FID statistics of the 10k Fashion-MNIST test images (once per machine; cached at \(url.path))")
        let stats = try FIDStatistics(features: try network.features(of: images, progress: progress))
        try stats.write(to: url, metadata: ["images": "fashion-mnist t10k", "version": statisticsVersion,
                                            "preprocessing": "grey→RGB, round(255x), nv_bilinear 299, x/128−1"])
        return stats
    }

    /// The test statistics with their covariance factor (`FIDReference`), the factor cached beside
    /// the statistics file (`….factor.safetensors`, same content hash) after its first computation.
    public static func testReference(network: InceptionFID, assetCache: AssetCache = AssetCache(),
                                     log: (String) -> Void = { _ in }, progress: (Int, Int) -> Void = { _, _ in }) throws -> FIDReference {
        let stats = try testStatistics(network: network, assetCache: assetCache, log: log, progress: progress)
        let (images, _) = try EvaluationImages.fashionMNIST(split: .test, assetCache: assetCache)
        let url = try statisticsFile(for: images, assetCache: assetCache).deletingPathExtension().appendingPathExtension("factor.safetensors")
        if FileManager.default.fileExists(atPath: url.path) {
            do { return try FIDReference(statistics: stats, factorFile: url) } catch { log("ignoring \(error)") }
        }
        log("factoring the test images' covariance (once per machine; cached at \(url.path))")
        let reference = try FIDReference(statistics: stats)
        try reference.writeFactor(to: url)
        return reference
    }
}

extension EvaluationImages {
    /// Images [N, C, H, W] in [0, 1] resized to `side` × `side` as real images are: rounded to 8 bits,
    /// then Pillow-exact bicubic resampling (so a classifier sees generated and real images through the
    /// same path). Returns the input when it already has that size.
    public static func resized(_ images: Tensor, side: Int) -> Tensor {
        precondition(images.rank == 4 && side >= 1, "resized: images [N, C, H, W] and a positive side, got \(images.shape) and \(side)")
        let (n, c, h, w) = (images.shape[0], images.shape[1], images.shape[2], images.shape[3])
        if h == side && w == side { return images }
        let x = images.toFloat32().contiguous()
        let out = Tensor.empty([n, c, side, side])
        withExtendedLifetime(x) {
            for i in 0..<n {
                var pixels = [UInt8](repeating: 0, count: h * w * c)
                let src = x.f32 + i * c * h * w
                for ch in 0..<c { for p in 0..<(h * w) { pixels[p * c + ch] = UInt8(min(max(src[ch * h * w + p], 0), 1) * 255 + 0.5) } }
                let small = Image(width: w, height: h, channels: c, pixels: pixels).resized(width: side, height: side, filter: .bicubic)
                let dst = out.f32 + i * c * side * side
                for ch in 0..<c { for p in 0..<(side * side) { dst[ch * side * side + p] = Float(small.pixels[p * c + ch]) / 255 } }
            }
        }
        return out
    }
}
