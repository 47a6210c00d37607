import Foundation

/// Resolves the `--data` option of the training and evaluation commands: `fashion-mnist` (the pinned
/// asset, fetched with `latte assets fetch fashion-mnist`), `emoji` (the pinned EmojiOne and Twemoji
/// sets with their 10 % held-out split, `EmojiDataset`; `split` selects), a `.jsonl` caption file, or a
/// folder of images in class sub-folders (with an optional class-name map and prompt templates).
public enum ImageDataSource {
    public static func dataset(_ spec: String, split: IDXDataset.Split, classNames: ClassNameMap? = nil,
                               templates: PromptTemplates? = nil) throws -> any Dataset {
        switch spec {
        case "fashion-mnist":
            let dir = try AssetCache().require("fashion-mnist").deletingLastPathComponent()
            return try IDXDataset.fashionMNIST(directory: dir.path, split: split)
        case "emoji":
            return try EmojiDataset.pinned(split: split)
        default:
            var isDir: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: spec, isDirectory: &isDir)
            if exists, !isDir.boolValue, spec.lowercased().hasSuffix(".jsonl") {
                return try CaptionedImageDataset(captionFile: spec)
            }
            guard exists, isDir.boolValue else {
                throw DatasetError(.missing, file: spec, "expected 'fashion-mnist', 'emoji', a .jsonl caption file or a folder of images in class sub-folders")
            }
            return try ImageFolderDataset(root: spec, classNames: classNames, templates: templates)
        }
    }

    /// Images with a zero border of `pad` pixels (background: Fashion-MNIST's 28×28 padded by 2 to
    /// 32×32 so the autoencoder's ×4 downsampling gives an 8×8 latent), converted to grey (1 channel)
    /// or RGB (3), pixels scaled to [−1, 1].
    public static func loaderOptions(batchSize: Int, shuffle: Bool, seed: UInt64, pad: Int, channels: Int = 1) -> DataLoaderOptions {
        let colour: ItemTransform = channels == 1 ? .toGray : .toRGB
        return DataLoaderOptions(batchSize: batchSize, shuffle: shuffle, dropLast: shuffle, seed: seed,
                                 transforms: pad > 0 ? [colour, .pad(pad, fill: 0)] : [colour],
                                 mean: [0.5], std: [0.5])
    }
}

/// The first `count` items of another dataset (quick experiments: `--limit`).
public struct DatasetPrefix: Dataset {
    public let base: any Dataset
    public let count: Int

    public init(base: any Dataset, count: Int) throws {
        guard count >= 1 else { throw DatasetError(.inconsistent, file: "<prefix>", "a dataset prefix needs at least 1 item, got \(count)") }
        self.base = base
        self.count = Swift.min(count, base.count)
    }

    public var classNames: [String] { base.classNames }
    public func item(at index: Int) throws -> DatasetItem { try base.item(at: index) }
    public func annotation(at index: Int) throws -> DatasetAnnotation { try base.annotation(at: index) }
}
