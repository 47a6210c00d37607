import Foundation
import LatteFormats
import LatteTensor

/// FID-network features of real image sets, computed once and kept beside the converted network
/// (`$LATTE_HOME/fid-inception/features/<hash>.safetensors`): a few thousand training images cost tens
/// of minutes on two cores, and every evaluation of a model trained on the same split needs them again.
///
/// The key is a hash of what the network sees — the shape and every pixel rounded to 8 bits, as its
/// preprocessing rounds them — plus the network file's size, so a different preparation, split or
/// network is a different entry and a stale entry cannot be read.
public struct InceptionFeatureCache {
    public let directory: URL
    let network: InceptionFID
    let networkTag: String

    public init(network: InceptionFID, assetCache: AssetCache = AssetCache()) throws {
        let weights = try InceptionFIDWeights.convertedFile(assetCache: assetCache)
        directory = weights.deletingLastPathComponent().appendingPathComponent("features")
        self.network = network
        networkTag = Self.networkTag(of: weights)
    }

    /// The converted network file's name and size: part of every key, so features (and the FID
    /// statistics keyed the same way) of another network are never read back.
    static func networkTag(of weights: URL) -> String {
        let size = (try? FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? Int) ?? 0
        return "\(weights.lastPathComponent):\(size)"
    }

    /// Features [N, 2048] of images [N, C, H, W] in [0, 1]: read from the cache, or computed and stored.
    public func features(of images: Tensor, log: (String) -> Void = { _ in }, progress: (Int, Int) -> Void = { _, _ in }) throws -> Tensor {
        let key = Self.key(images, networkTag: networkTag)
        let url = directory.appendingPathComponent("\(key).safetensors")
        if FileManager.default.fileExists(atPath: url.path) {
            if let file = try? Safetensors.read(contentsOf: url), let f = file.tensors["features"],
               f.shape == [images.shape[0], InceptionFID.featureDimension] {
                log("FID features of \(images.shape[0]) images read from \(url.path)")
                return f.toFloat32().contiguous()
            }
            log("ignoring unreadable feature cache \(url.path)")
        }
        let features = try network.features(of: images, progress: progress)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Safetensors.write(["features": features], metadata: ["images": "\(images.shape)", "network": networkTag], to: url)
        log("FID features of \(images.shape[0]) images cached at \(url.path)")
        return features
    }

    /// FNV-1a 64 over the shape, the network tag and the 8-bit pixels, as 16 hex digits.
    static func key(_ images: Tensor, networkTag: String) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        func mix(_ byte: UInt8) { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        for b in "\(images.shape)|\(networkTag)".utf8 { mix(b) }
        let x = images.toFloat32().contiguous()
        withExtendedLifetime(x) {
            for i in 0..<x.count { mix(UInt8((min(max(x.f32[i], 0), 1) * 255).rounded(.toNearestOrEven))) }
        }
        return String(format: "%016llx", h)
    }
}
