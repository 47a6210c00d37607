import Foundation
import LatteFormats
import LatteKernels
import LatteTensor

/// The autoencoder latents of a training set, encoded once into a folder and read back memory-mapped,
/// so a cache larger than RAM trains like a small one (ImageNet-1k at f32c32 is ~1.2 M × 8×8×32 floats,
/// 9.8 GB).
///
/// The folder holds `manifest.json` (`LatentCacheManifest`) and `shard-00000.safetensors`, … Shard k
/// holds dataset items [k·S, (k+1)·S) (S = `shardItems`) that could be read, as tensors `latents`
/// F32 [rows, variants, C, h, w] and `indices` I64 [rows] (each row's dataset index). Latents are stored
/// in f32 — exactly what an in-memory encoding gives, so training on the cache equals training on
/// freshly encoded latents (f16 would halve the disk; not offered).
///
/// - Made once: `open` encodes with the given `LatentEncoder` and `ImagePreparation`, showing progress
///   (items/s, ETA). Unreadable images are reported with their path, skipped and listed in the manifest.
/// - Resumed: each shard is written atomically (temporary file, rename), then the manifest is rewritten
///   to list it; after a kill, `open` keeps the listed shards and continues with the first missing one.
/// - Refused: a cache made with other settings (autoencoder weights, scaling, preparation, dataset,
///   format) is an error naming each difference, never reused; a missing, truncated or malformed shard
///   is an error naming the file. Either way: delete the folder or pass `rebuild` (`--rebuild-latents`).
/// - Flips: with `preparation.horizontalFlip`, every item is encoded as it is and mirrored (the latent of
///   a mirrored image is not a mirrored latent); training reads one per (seed, epoch, item), see
///   `LatentRows.rows(_:seed:epoch:)`.
public final class LatentCache: LatentRows {
    public struct Options {
        /// Dataset items per shard (a shard holds fewer rows when images were unreadable). Only used when a
        /// cache is started; a resumed one keeps its own.
        public var shardItems = 4096
        /// Images per encoder call; nil: about 256k pixels (256 at 32², 4 at 256²). Only used when a cache
        /// is started, like `shardItems`.
        public var batchSize: Int?
        /// Delete the folder's manifest and shards first and encode again.
        public var rebuild = false
        /// Stop with an error after writing this many shards, as a kill would (tests of resuming).
        public var stopAfterShards: Int?

        public init(shardItems: Int = 4096, batchSize: Int? = nil, rebuild: Bool = false, stopAfterShards: Int? = nil) {
            self.shardItems = shardItems
            self.batchSize = batchSize
            self.rebuild = rebuild
            self.stopAfterShards = stopAfterShards
        }
    }

    public let directory: URL
    public let manifest: LatentCacheManifest
    /// Row → dataset item index.
    public let datasetIndices: [Int]
    public let count: Int
    public let itemShape: [Int]
    public let variantCount: Int
    /// The unreadable images left out (index, file, reason).
    public var skipped: [LatentCacheManifest.SkippedItem] { manifest.skipped }

    /// Each shard's `latents` tensor, backed by the memory-mapped file, and its first row.
    private let shardLatents: [Tensor]
    private let shardStarts: [Int]

    /// The cache of `dataset` in `directory`: opened when it was made with these settings and is complete,
    /// continued when it was interrupted, encoded when there is none. See the type's notes.
    ///
    /// With a `group` of several ranks every rank calls this together: rank 0 checks (or starts) the
    /// manifest, the ranks encode the missing shards between them (`encodeDistributed`), rank 0 lists
    /// them, and every rank opens the result — the same bytes as one process makes.
    public static func open(encoder: LatentEncoder, dataset: any Dataset, preparation: ImagePreparation, directory: URL,
                            options: Options = Options(), group: ProcessGroup? = nil, report: (String) -> Void) throws -> LatentCache {
        try preparation.validate()
        guard encoder.inputChannels == preparation.channels else {
            throw LatentCacheError("the \(encoder.kind) takes \(encoder.inputChannels)-channel images but the images are prepared with \(preparation.channels)")
        }
        guard dataset.count > 0 else { throw LatentCacheError("the dataset is empty: nothing to encode") }
        guard options.shardItems >= 1 else { throw LatentCacheError("shardItems must be at least 1, got \(options.shardItems)") }
        let manifestURL = directory.appendingPathComponent(LatentCacheManifest.fileName)
        if let group, group.size > 1 {
            let started = try group.isWriter ? startOrCheck(encoder: encoder, dataset: dataset, preparation: preparation,
                                                            directory: directory, options: options, report: report) : nil
            try group.barrier("rank 0 opening the latent cache", timeout: .infinity)
            var manifest = try started ?? LatentCacheManifest.read(manifestURL)
            if !manifest.complete {
                try encodeDistributed(into: &manifest, directory: directory, encoder: encoder, dataset: dataset,
                                      preparation: preparation, group: group, report: report)
            }
            return try opened(directory: directory, manifest: manifest, report: report)
        }
        var manifest = try startOrCheck(encoder: encoder, dataset: dataset, preparation: preparation, directory: directory,
                                        options: options, report: report)
        if !manifest.complete {
            try encode(into: &manifest, directory: directory, encoder: encoder, dataset: dataset, preparation: preparation,
                       options: options, report: report)
        }
        return try opened(directory: directory, manifest: manifest, report: report)
    }

    static func opened(directory: URL, manifest: LatentCacheManifest, report: (String) -> Void) throws -> LatentCache {
        let cache = try LatentCache(directory: directory, manifest: manifest)
        report("latents: \(cache.count) rows \(cache.itemShape)\(cache.variantCount > 1 ? " × \(cache.variantCount) (as is, mirrored)" : "") in \(directory.path)"
            + (cache.skipped.isEmpty ? "" : ", \(cache.skipped.count) unreadable images skipped (listed in its manifest)"))
        return cache
    }

    /// The folder's manifest, checked against these settings, with its listed shards checked; or a new
    /// empty one written there (after removing the cache with `rebuild`).
    static func startOrCheck(encoder: LatentEncoder, dataset: any Dataset, preparation: ImagePreparation, directory: URL,
                             options: Options, report: (String) -> Void) throws -> LatentCacheManifest {
        let weights: String
        do { weights = try SHA256.hash(fileAt: encoder.weightsFile.path) } catch {
            throw LatentCacheError("\(encoder.weightsFile.path): cannot hash the autoencoder's weights (\(error))")
        }
        let settings = LatentCacheManifest.Settings(
            autoencoder: encoder.kind, autoencoderSHA256: weights, scalingFactor: encoder.scalingFactor,
            shiftFactor: encoder.shiftFactor, preparation: preparation.fingerprint,
            dataset: try DatasetFingerprint(of: dataset), dtype: DType.float32.rawValue)

        let fm = FileManager.default
        let manifestURL = directory.appendingPathComponent(LatentCacheManifest.fileName)
        if options.rebuild { try removeCache(in: directory) }
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        var manifest: LatentCacheManifest
        if fm.fileExists(atPath: manifestURL.path) {
            manifest = try LatentCacheManifest.read(manifestURL)
            let differences = settings.differences(from: manifest.settings)
            guard differences.isEmpty else {
                throw LatentCacheError("the latent cache \(directory.path) was made with other settings — "
                    + differences.joined(separator: "; ")
                    + ". It is not reused: delete the folder or pass --rebuild-latents to encode the images again.")
            }
            if !manifest.complete {
                report("latents: resuming \(directory.path) at item \(manifest.itemsDone) of \(dataset.count) (\(manifest.shards.count) shards kept)")
            }
        } else {
            manifest = LatentCacheManifest(settings: settings, latentShape: [], variants: preparation.horizontalFlip ? 2 : 1,
                                           shardItems: options.shardItems,
                                           batchSize: Swift.max(1, options.batchSize ?? defaultBatchSize(dataset, preparation)),
                                           shards: [], skipped: [], complete: false)
            try manifest.write(manifestURL)
        }
        if !manifest.complete {
            for shard in manifest.shards { try checkSize(shard, in: directory) }
        }
        return manifest
    }

    /// Maps the shards a complete manifest lists, checking each against it.
    init(directory: URL, manifest: LatentCacheManifest) throws {
        guard manifest.complete else { throw LatentCacheError("\(directory.path): the latent cache is incomplete") }
        guard manifest.rows > 0 else { throw LatentCacheError("\(directory.path): the latent cache holds no rows (every image was unreadable)") }
        var tensors: [Tensor] = [], starts: [Int] = [], indices: [Int] = []
        for shard in manifest.shards {
            try Self.checkSize(shard, in: directory)
            let url = directory.appendingPathComponent(shard.file)
            func bad(_ why: String) -> LatentCacheError {
                LatentCacheError("latent cache shard \(url.path): \(why); delete the folder or pass --rebuild-latents")
            }
            let file: SafetensorsFile
            do { file = try Safetensors.read(contentsOf: url) } catch { throw bad("\(error)") }
            guard let latents = file.tensors["latents"], let rowIndices = file.tensors["indices"] else { throw bad("no 'latents' and 'indices' tensors") }
            let expected = shard.rows == 0 ? [0, manifest.variants] : [shard.rows, manifest.variants] + manifest.latentShape
            guard latents.dtype == .float32, Array(latents.shape.prefix(expected.count)) == expected, shard.rows == 0 || latents.shape == expected else {
                throw bad("latents are \(latents.dtype.rawValue) \(latents.shape), the manifest says F32 \(expected)")
            }
            guard rowIndices.toIntArray() == shard.datasetIndices else { throw bad("its rows are other dataset items than the manifest lists") }
            starts.append(indices.count)
            tensors.append(latents)
            indices += shard.datasetIndices
        }
        self.directory = directory
        self.manifest = manifest
        datasetIndices = indices
        count = indices.count
        itemShape = manifest.latentShape
        variantCount = manifest.variants
        shardLatents = tensors
        shardStarts = starts
    }

    public func rows(_ indices: [Int]) throws -> Tensor { try rows(indices, variants: [Int](repeating: 0, count: indices.count)) }

    /// Copies each row out of its shard's mapping (the kernel pages it in; pages of a cache larger
    /// than RAM are dropped again under memory pressure, they are never dirty).
    public func rows(_ indices: [Int], variants: [Int]) throws -> Tensor {
        guard variants.count == indices.count else { throw GeneratorError.invalidInput("\(indices.count) rows but \(variants.count) variants") }
        let size = itemShape.reduce(1, *)
        let out = Tensor.empty([indices.count] + itemShape)
        for (i, row) in indices.enumerated() {
            guard row >= 0, row < count else { throw GeneratorError.invalidInput("latent row \(row) is outside the cache's \(count) rows") }
            let v = variants[i]
            guard v >= 0, v < variantCount else { throw GeneratorError.invalidInput("variant \(v) of a cache with \(variantCount) per row") }
            let s = shard(of: row)
            let latents = shardLatents[s]
            withExtendedLifetime(latents) {
                (out.f32 + i * size).update(from: latents.f32 + ((row - shardStarts[s]) * variantCount + v) * size, count: size)
            }
        }
        return out
    }

    /// The shard holding `row` (binary search over the shards' first rows).
    private func shard(of row: Int) -> Int {
        var lo = 0, hi = shardStarts.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if shardStarts[mid] <= row { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// About 256k pixels a batch, from the training resolution or the first readable image's size.
    static func defaultBatchSize(_ dataset: any Dataset, _ preparation: ImagePreparation) -> Int {
        let side = preparation.resolution ?? (0..<Swift.min(dataset.count, 16)).lazy
            .compactMap { try? dataset.item(at: $0).image }.first.map { Swift.max($0.width, $0.height) + 2 * preparation.pad } ?? 32
        return Swift.max(1, Swift.min(256, (1 << 18) / (side * side)))
    }

    static func shardName(_ k: Int) -> String { String(format: "shard-%05d.safetensors", k) }

    static func checkSize(_ shard: LatentCacheManifest.Shard, in directory: URL) throws {
        let path = directory.appendingPathComponent(shard.file).path
        guard let size = ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.intValue else {
            throw LatentCacheError("latent cache shard \(path) is missing (the manifest lists it); delete the folder or pass --rebuild-latents")
        }
        guard size == shard.bytes else {
            throw LatentCacheError("latent cache shard \(path) is \(size) bytes but was written with \(shard.bytes) (truncated or overwritten); delete the folder or pass --rebuild-latents")
        }
    }

    /// Removes the manifest, the shards and any temporary shard files — nothing else in the folder.
    static func removeCache(in directory: URL) throws {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where name == LatentCacheManifest.fileName || name.hasPrefix("shard-") || name.hasPrefix(".shard-") || name.hasPrefix(".\(LatentCacheManifest.fileName)") {
            try fm.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}
