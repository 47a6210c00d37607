import Foundation
import ArgumentParser
import LatteFormats

/// Resolves the `--data` option of training and evaluation commands: `fashion-mnist` (the pinned
/// asset, fetched with `latte assets fetch fashion-mnist`) or a folder of images in class sub-folders.
enum ImageDataSource {
    static func dataset(_ spec: String, split: IDXDataset.Split) throws -> any Dataset {
        switch spec {
        case "fashion-mnist":
            let dir = try AssetCache().require("fashion-mnist").deletingLastPathComponent()
            return try IDXDataset.fashionMNIST(directory: dir.path, split: split)
        default:
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: spec, isDirectory: &isDir), isDir.boolValue else {
                throw ValidationError("--data \(spec): expected 'fashion-mnist' or a folder of images in class sub-folders")
            }
            return try ImageFolderDataset(root: spec)
        }
    }

    /// Fashion-MNIST's 28×28 images padded to 32×32 (zero border, i.e. background) so the autoencoder's
    /// ×4 downsampling gives an 8×8 latent; pixels scaled to [−1, 1].
    static func loaderOptions(batchSize: Int, shuffle: Bool, seed: UInt64, pad: Int) -> DataLoaderOptions {
        DataLoaderOptions(batchSize: batchSize, shuffle: shuffle, dropLast: shuffle, seed: seed,
                          transforms: pad > 0 ? [.toGray, .pad(pad, fill: 0)] : [.toGray], mean: [0.5], std: [0.5])
    }
}

/// The first `count` items of another dataset.
struct DatasetPrefix: Dataset {
    let base: any Dataset
    let count: Int
    init(base: any Dataset, count: Int) throws {
        guard count >= 1 else { throw ValidationError("--limit must be at least 1") }
        self.base = base
        self.count = Swift.min(count, base.count)
    }
    var classNames: [String] { base.classNames }
    func item(at index: Int) throws -> DatasetItem { try base.item(at: index) }
}
