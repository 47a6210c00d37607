import Foundation
import LatteFormats
import LatteTensor

/// `manifest.json` of a latent cache folder: what made the latents (`Settings`, compared on every open),
/// and what is on disk (the shards written so far, the skipped images). Rewritten atomically after each
/// shard, so after a kill it describes exactly the shards that are complete.
public struct LatentCacheManifest: Codable, Equatable {
    /// Everything the latents depend on. A cache is reused only when all of it is equal.
    public struct Settings: Codable, Equatable {
        /// The cache layout's version.
        public var format = LatentCacheManifest.format
        /// `LatentEncoder.kind`, and the SHA-256 of its weights file.
        public var autoencoder: String
        public var autoencoderSHA256: String
        public var scalingFactor: Float
        public var shiftFactor: Float
        /// `ImagePreparation.fingerprint`: resolution or pad, channels, background, flip.
        public var preparation: String
        public var dataset: DatasetFingerprint
        /// Element type of the stored latents ("F32").
        public var dtype: String

        /// One line per setting that differs from `other` (the cache's), naming both values.
        func differences(from cached: Settings) -> [String] {
            var out: [String] = []
            if format != cached.format { out.append("cache format: \(cached.format) in the cache, \(format) now") }
            if autoencoder != cached.autoencoder || autoencoderSHA256 != cached.autoencoderSHA256 {
                out.append("autoencoder weights: \(cached.autoencoder) sha256 \(cached.autoencoderSHA256.prefix(12))… in the cache, \(autoencoder) sha256 \(autoencoderSHA256.prefix(12))… now")
            }
            if scalingFactor != cached.scalingFactor || shiftFactor != cached.shiftFactor {
                out.append("latent scaling: scale \(cached.scalingFactor) shift \(cached.shiftFactor) in the cache, scale \(scalingFactor) shift \(shiftFactor) now")
            }
            if preparation != cached.preparation { out.append("image preparation: '\(cached.preparation)' in the cache, '\(preparation)' now") }
            if dataset != cached.dataset {
                let what = dataset.count != cached.dataset.count ? "\(cached.dataset.count) items in the cache, \(dataset.count) now"
                    : dataset.method != cached.dataset.method ? "identified by \(cached.dataset.method) in the cache, by \(dataset.method) now"
                    : "same \(dataset.count) items but other images (\(dataset.method) differ)"
                out.append("dataset: \(what)")
            }
            if dtype != cached.dtype { out.append("stored type: \(cached.dtype) in the cache, \(dtype) now") }
            return out
        }
    }

    /// One shard file: dataset items [firstItem, firstItem + items), less `skipped`, one row each.
    public struct Shard: Codable, Equatable {
        public var file: String
        public var firstItem: Int
        public var items: Int
        /// Rows it holds (items read); each row has `variants` latents.
        public var rows: Int
        /// Dataset indices in its range that were unreadable.
        public var skipped: [Int]
        /// File size, checked on open (a truncated shard is caught before training reads it).
        public var bytes: Int

        /// The dataset index of each row, in order.
        public var datasetIndices: [Int] {
            let left = Set(skipped)
            return (firstItem..<(firstItem + items)).filter { !left.contains($0) }
        }
    }

    /// An unreadable image, left out: its dataset index, file and the reader's message.
    public struct SkippedItem: Codable, Equatable {
        public var index: Int
        public var file: String
        public var reason: String
    }

    public static let format = 1
    public static let fileName = "manifest.json"

    public var settings: Settings
    /// Latent shape of one image, [C, h, w] (empty until the first shard is written).
    public var latentShape: [Int]
    /// Latents per row: 1, or 2 with horizontal flips (variant 0 as the image is, 1 mirrored).
    public var variants: Int
    /// Dataset items per shard (the last holds the rest).
    public var shardItems: Int
    /// Images per encoder call, fixed when the cache is started so a resumed cache gets the same batches.
    public var batchSize: Int
    public var shards: [Shard]
    public var skipped: [SkippedItem]
    /// True once every dataset item is in a shard or skipped.
    public var complete: Bool
    /// Rows over all shards.
    public var rows: Int { shards.reduce(0) { $0 + $1.rows } }
    /// Dataset items covered so far.
    public var itemsDone: Int { shards.last.map { $0.firstItem + $0.items } ?? 0 }

    static func read(_ url: URL) throws -> LatentCacheManifest {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw LatentCacheError("\(url.path): cannot read the latent cache manifest (\(error.localizedDescription))")
        }
        do { return try JSONDecoder().decode(LatentCacheManifest.self, from: data) } catch {
            throw LatentCacheError("\(url.path): not a latent cache manifest of this version (\(error)); delete the folder or pass --rebuild-latents")
        }
    }

    func write(_ url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        try writeAtomically(url) { $0.write(data) }
    }
}

/// A latent cache that cannot be used: made with other settings, damaged, or unreadable. The message
/// names the folder or file and what to do.
public struct LatentCacheError: Error, CustomStringConvertible, LocalizedError {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
    public var errorDescription: String? { message }
}
