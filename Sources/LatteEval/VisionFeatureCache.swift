import Foundation
import LatteFormats
import LatteTensor

/// The frozen image encoder's tokens for the vision path, computed once per image set and kept beside
/// the converted encoder (`$LATTE_HOME/efficientnet-lite0/features/<hash>.safetensors`, float16): the
/// projector trains for many epochs over the same images, and the encoder never changes.
///
/// The key is a content hash (FNV-1a 64) of what the encoder sees — the images' shape and every pixel
/// rounded to 8 bits — with the encoder file's name and size, its input size and the token grid, so
/// other images, another preparation or another encoder is another entry and a stale one cannot be read.
public struct VisionFeatureCache {
    public let directory: URL
    public let encoder: EfficientNetLite
    public let grid: Int
    let tag: String

    /// `directory` nil: the `features` folder beside the converted encoder.
    public init(encoder: EfficientNetLite, grid: Int, directory: URL? = nil, assetCache: AssetCache = AssetCache()) throws {
        let weights = try EfficientNetLiteWeights.convertedFile(assetCache: assetCache)
        self.directory = directory ?? weights.deletingLastPathComponent().appendingPathComponent("features")
        let size = (try? FileManager.default.attributesOfItem(atPath: weights.path)[.size] as? Int) ?? 0
        tag = "\(weights.lastPathComponent):\(size) input=\(encoder.inputSize) grid=\(grid)"
        (self.encoder, self.grid) = (encoder, grid)
    }

    /// Tokens [N, grid², 1280] of images [N, C, H, W] in [0, 1]: read from the cache, or computed in
    /// chunks of `chunk` images (`progress(done, total)` after each) and stored. `half`: returned in
    /// float16 as stored (60,000 images × 16 tokens are 2.5 GB so, 4.9 GB in float32), each chunk
    /// narrowed as it is computed into the one output tensor, so no float32 copy of the whole set ever exists.
    public func tokens(of images: Tensor, chunk: Int = 64, half: Bool = false, log: (String) -> Void = { _ in },
                       progress: (Int, Int) -> Void = { _, _ in }) throws -> Tensor {
        let n = images.shape[0], t = grid * grid, c = EfficientNetLite.featureChannels
        let url = directory.appendingPathComponent("\(InceptionFeatureCache.key(images, networkTag: tag)).safetensors")
        if FileManager.default.fileExists(atPath: url.path) {
            if let file = try? Safetensors.read(contentsOf: url), let f = file.tensors["tokens"], f.shape == [n, t, c] {
                log("image tokens of \(n) images read from \(url.path)")
                return half ? f.to(.float16).contiguous() : f.toFloat32().contiguous()
            }
            log("ignoring unreadable image-token cache \(url.path)")
        }
        // Each chunk is narrowed to float16 straight into the one output tensor: no list of parts to join,
        // so the peak is the output plus one chunk, and no freed parts are left fragmenting the heap.
        let all = Tensor.empty([n, t, c], dtype: .float16)
        let rowBytes = t * c * 2
        var done = 0
        while done < n {
            let m = min(chunk, n - done)
            let part = encoder.features(images.sliced(axis: 0, done..<(done + m))).adaptiveAveragePoolTokens(grid: grid).to(.float16).contiguous()
            withExtendedLifetime(part) {
                (all.storage.base + done * rowBytes).copyMemory(from: part.storage.base + part.offset * 2, byteCount: m * rowBytes)
            }
            done += m
            progress(done, n)
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        // Written whole to a temporary name, then moved: a killed run leaves no half file under the key.
        let partial = url.appendingPathExtension("partial")
        try Safetensors.write(["tokens": all], metadata: ["images": "\(images.shape)", "encoder": tag], to: partial)
        _ = try? FileManager.default.removeItem(at: url)
        try FileManager.default.moveItem(at: partial, to: url)
        log("image tokens of \(n) images cached at \(url.path)")
        return half ? all : all.toFloat32().contiguous()
    }

}
