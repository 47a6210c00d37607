import Foundation
import LatteFormats
import LatteTensor

/// A dataset's images prepared as one tensor [N, C, R, R] in [0, 1], with each item's class name (nil
/// when it has none) and first caption: what the category classifier trains on and what the
/// captioned evaluation compares generated images with.
public struct LabelledImageSet {
    /// Class names that mean "no category": such items keep their image (FID, memorisation) but get
    /// no label (the emoji set's `unknown`, for emoji EmojiOne has no category for).
    public static let unlabelledClassNames: Set<String> = ["unknown", "uncategorized", "unlabelled", "unlabeled"]

    public let images: Tensor
    /// Each item's class name, nil when unlabelled.
    public let categories: [String?]
    /// Each item's first caption (nil when it has none).
    public let captions: [String?]
    /// Each item's index in the dataset (unreadable images skipped).
    public let indices: [Int]
    /// Images the loader could not read, left out with their reasons.
    public let skipped: [SkippedFiles.Entry]

    public var count: Int { indices.count }

    public init(images: Tensor, categories: [String?], captions: [String?], indices: [Int], skipped: [SkippedFiles.Entry] = []) {
        precondition(images.rank == 4 && images.shape[0] == categories.count && categories.count == captions.count
                     && captions.count == indices.count, "LabelledImageSet: \(images.shape) images with \(categories.count) categories, \(captions.count) captions, \(indices.count) indices")
        self.images = images
        self.categories = categories
        self.captions = captions
        self.indices = indices
        self.skipped = skipped
    }

    /// Every item of `dataset` (or its first `limit`) through `preparation`'s transforms (flip ignored),
    /// in dataset order; unreadable images are skipped and listed. `progress(done, total)` after each batch.
    public static func load(_ dataset: any Dataset, preparation: ImagePreparation, limit: Int? = nil,
                            progress: (Int, Int) -> Void = { _, _ in }) throws -> LabelledImageSet {
        var prepared = preparation
        prepared.horizontalFlip = false
        try prepared.validate()
        let source: any Dataset
        if let limit { source = try DatasetPrefix(base: dataset, count: limit) } else { source = dataset }
        let total = source.count
        let skipped = SkippedFiles()
        let loader = try DataLoader(dataset: source, options: DataLoaderOptions(
            batchSize: 128, shuffle: false, dropLast: false, transforms: prepared.transforms, unreadableImages: .skip(skipped)))
        var pixels: [Float] = []
        var categories: [String?] = [], captions: [String?] = [], indices: [Int] = []
        var shape: (c: Int, h: Int, w: Int)? = nil
        let names = source.classNames
        while true {
            let batch = try loader.next()
            guard batch.state.epoch == 0 else { break }   // the loader wrapped around: every item is in
            if shape == nil { shape = (batch.channels, batch.height, batch.width) }
            pixels += batch.pixels
            for (label, caption) in zip(batch.labels, batch.captions) {
                let name = label >= 0 && label < names.count ? names[label] : nil
                categories.append(name.flatMap { unlabelledClassNames.contains($0) ? nil : $0 })
                captions.append(caption)
            }
            indices += batch.indices
            progress(indices.count + skipped.count, total)
            if loader.state.epoch > 0 { break }
        }
        guard let s = shape, !indices.isEmpty else {
            throw FIDError("no readable image among the \(total) items of the evaluation data (\(skipped.count) skipped)")
        }
        let images = Tensor(pixels, shape: [indices.count, s.c, s.h, s.w])
        return LabelledImageSet(images: images, categories: categories, captions: captions, indices: indices, skipped: skipped.files)
    }

    /// Labels as indices into `classNames` (−1 for items without a category or with one not in the list).
    public func labels(in classNames: [String]) -> [Int] {
        let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
        return categories.map { $0.flatMap { index[$0] } ?? -1 }
    }

    /// The distinct categories present, sorted byte-wise (a classifier's class list).
    public var categoryNames: [String] {
        Set(categories.compactMap { $0 }).sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }

    /// The items at `positions` (positions in this set, not dataset indices).
    public func subset(_ positions: [Int]) -> LabelledImageSet {
        let (c, h, w) = (images.shape[1], images.shape[2], images.shape[3])
        let out = Tensor.empty([positions.count, c, h, w])
        let size = c * h * w
        let source = images.contiguous()
        withExtendedLifetime(source) {
            for (j, p) in positions.enumerated() { (out.f32 + j * size).update(from: source.f32 + p * size, count: size) }
        }
        return LabelledImageSet(images: out, categories: positions.map { categories[$0] }, captions: positions.map { captions[$0] },
                                indices: positions.map { indices[$0] })
    }
}
