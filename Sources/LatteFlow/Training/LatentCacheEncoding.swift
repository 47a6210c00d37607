import Foundation
import LatteFormats
import LatteKernels
import LatteNN
import LatteTensor

extension LatentCache {
    /// Encodes the shards `manifest` does not list yet, in order: each is written atomically, then the
    /// manifest is rewritten to list it (so a kill between the two leaves an unlisted shard, which the
    /// next run overwrites). Batches start at each shard's first item, so a resumed cache holds the same
    /// bytes as an uninterrupted one.
    static func encode(into manifest: inout LatentCacheManifest, directory: URL, encoder: LatentEncoder, dataset: any Dataset,
                       preparation: ImagePreparation, options: Options, report: (String) -> Void) throws {
        let shardCount = (dataset.count + manifest.shardItems - 1) / manifest.shardItems
        let manifestURL = directory.appendingPathComponent(LatentCacheManifest.fileName)
        let work = ShardEncoding(dataset: dataset, preparation: preparation, encoder: encoder, directory: directory, manifest: manifest)
        report(work.announcement(shards: shardCount - manifest.shards.count, itemsDone: manifest.itemsDone, ranks: 1))
        var progress: TrainingProgress? = TrainingProgress(total: dataset.count, startingAt: manifest.itemsDone, label: "encoding latents")
        var written = 0
        for k in manifest.shards.count..<shardCount {
            let done = try work.encode(shard: k, latentShape: &manifest.latentShape, progress: &progress,
                                       before: (items: k * manifest.shardItems, rows: manifest.rows, skipped: manifest.skipped.count), report: report)
            manifest.shards.append(done.shard)
            manifest.skipped += done.skipped
            manifest.complete = k == shardCount - 1
            try manifest.write(manifestURL)
            written += 1
            if let stop = options.stopAfterShards, written >= stop, !manifest.complete {
                throw LatentCacheError("latents: stopped after writing \(written) shards (stopAfterShards); open the cache again to continue")
            }
        }
    }

    /// `encode` over the ranks of a data-parallel run: rank r encodes the missing shards r, r + N, … (a
    /// shard's bytes depend only on its items, and the kernels' results not on the thread count), and
    /// leaves beside each a note of its manifest entry; after a barrier rank 0 lists them in shard
    /// order in the manifest, which is then byte for byte the one a single process writes. A kill
    /// leaves unlisted shards, which the next run encodes again.
    static func encodeDistributed(into manifest: inout LatentCacheManifest, directory: URL, encoder: LatentEncoder, dataset: any Dataset,
                                  preparation: ImagePreparation, group: ProcessGroup, report: (String) -> Void) throws {
        let shardCount = (dataset.count + manifest.shardItems - 1) / manifest.shardItems
        let manifestURL = directory.appendingPathComponent(LatentCacheManifest.fileName)
        let first = manifest.shards.count
        let work = ShardEncoding(dataset: dataset, preparation: preparation, encoder: encoder, directory: directory, manifest: manifest)
        report(work.announcement(shards: shardCount - first, itemsDone: manifest.itemsDone, ranks: group.size))
        let mine = Array(stride(from: first + group.rank, to: shardCount, by: group.size))
        var progress: TrainingProgress? = group.isWriter
            ? TrainingProgress(total: mine.reduce(0) { $0 + Swift.min(dataset.count, ($1 + 1) * manifest.shardItems) - $1 * manifest.shardItems },
                               startingAt: 0, label: "encoding latents (rank 0's share)") : nil
        var shape = manifest.latentShape
        var before = (items: 0, rows: 0, skipped: 0)
        for k in mine {
            let done = try work.encode(shard: k, latentShape: &shape, progress: &progress, before: before, report: report)
            before = (before.items + done.shard.items, before.rows + done.shard.rows, before.skipped + done.skipped.count)
            let note = EncodedShard(shard: done.shard, skipped: done.skipped, latentShape: shape)
            try JSONEncoder().encode(note).write(to: directory.appendingPathComponent(noteName(k)), options: .atomic)
        }
        try group.barrier("encoding latents", timeout: .infinity)
        if group.isWriter {
            for k in first..<shardCount {
                let url = directory.appendingPathComponent(noteName(k))
                let note: EncodedShard
                do { note = try JSONDecoder().decode(EncodedShard.self, from: Data(contentsOf: url)) } catch {
                    throw LatentCacheError("latents: the note of shard \(k) (\(url.path)) is missing or unreadable (\(error)): is --run-dir on a file system every rank shares?")
                }
                if manifest.latentShape.isEmpty { manifest.latentShape = note.latentShape }
                guard note.latentShape.isEmpty || note.latentShape == manifest.latentShape else {
                    throw LatentCacheError("latents: shard \(k) holds latents \(note.latentShape), earlier ones \(manifest.latentShape): every image must be prepared to one size (set a resolution)")
                }
                manifest.shards.append(note.shard)
                manifest.skipped += note.skipped
            }
            manifest.complete = true
            try manifest.write(manifestURL)
            for k in first..<shardCount { try? FileManager.default.removeItem(at: directory.appendingPathComponent(noteName(k))) }
        }
        try group.barrier("writing the latent cache manifest", timeout: .infinity)
        if !group.isWriter { manifest = try LatentCacheManifest.read(manifestURL) }
    }

    /// A shard's manifest entry, written by the rank that encoded it for rank 0 to list.
    struct EncodedShard: Codable {
        var shard: LatentCacheManifest.Shard
        var skipped: [LatentCacheManifest.SkippedItem]
        var latentShape: [Int]
    }

    /// Named like a shard so that `removeCache` removes a stray one too.
    static func noteName(_ k: Int) -> String { String(format: "shard-%05d.json", k) }

    /// What encoding one shard needs: the same for every shard and every rank.
    struct ShardEncoding {
        let dataset: any Dataset
        let encoder: LatentEncoder
        let directory: URL
        let variants: Int, batchSize: Int, shardItems: Int
        let loader: DataLoaderOptions
        let skippedFiles: SkippedFiles

        init(dataset: any Dataset, preparation: ImagePreparation, encoder: LatentEncoder, directory: URL, manifest: LatentCacheManifest) {
            // Mirrored variants are made here, not by the loader's random flip: every item gets both.
            var plain = preparation
            plain.horizontalFlip = false
            let skippedFiles = SkippedFiles()
            loader = plain.loaderOptions(batchSize: 1, shuffle: false, seed: 0, unreadableImages: .skip(skippedFiles))
            self.skippedFiles = skippedFiles
            self.dataset = dataset
            self.encoder = encoder
            self.directory = directory
            variants = manifest.variants
            batchSize = manifest.batchSize
            shardItems = manifest.shardItems
        }

        func announcement(shards: Int, itemsDone: Int, ranks: Int) -> String {
            "latents: encoding \(dataset.count - itemsDone) images with the \(encoder.kind) into \(directory.path) (\(shards) shard\(shards == 1 ? "" : "s") of \(shardItems) items, \(batchSize) per batch\(variants > 1 ? ", each also mirrored" : "")\(ranks > 1 ? ", shared among \(ranks) ranks" : ""))"
        }

        /// Encodes shard `k` (items k·S ..< (k+1)·S) and writes it atomically; returns its manifest entry
        /// and the unreadable images it left out. Batches start at the shard's first item, so its bytes
        /// do not depend on which shards were encoded before it, or where. `before`: the progress shown
        /// at its start (items, rows, skipped images).
        func encode(shard k: Int, latentShape: inout [Int], progress: inout TrainingProgress?,
                    before: (items: Int, rows: Int, skipped: Int), report: (String) -> Void) throws -> (shard: LatentCacheManifest.Shard, skipped: [LatentCacheManifest.SkippedItem]) {
            let first = k * shardItems, end = Swift.min(dataset.count, first + shardItems)
            var parts: [Tensor] = [], rows: [Int] = [], skipped: [LatentCacheManifest.SkippedItem] = []
            for start in stride(from: first, to: end, by: batchSize) {
                let wanted = Array(start..<Swift.min(end, start + batchSize))
                let recorded = skippedFiles.count
                let batch = try DataLoader.batch(of: dataset, indices: wanted, options: loader)
                let missing = Set(wanted).subtracting(batch.indices).sorted()
                for item in LatentCache.skippedItems(missing, new: Array(skippedFiles.files[recorded...]), dataset: dataset) {
                    report("latents: skipped unreadable image \(item.file): \(item.reason)")
                    skipped.append(item)
                }
                if batch.count > 0 {
                    parts.append(try LatentCache.latents(of: batch, encoder: encoder, variants: variants, shape: &latentShape))
                    rows += batch.indices
                }
                progress?.update(step: before.items + start - first + wanted.count,
                                 fields: [("rows", "\(before.rows + rows.count)"), ("skipped", "\(before.skipped + skipped.count)")])
            }
            let file = LatentCache.shardName(k), url = directory.appendingPathComponent(file)
            let latents = parts.isEmpty ? Tensor.empty([0, variants] + (latentShape.isEmpty ? [1, 1, 1] : latentShape))
                : Tensor.concat(parts, axis: 0)
            let indices = Tensor.empty([rows.count], dtype: .int64)
            let p = indices.storage.base.assumingMemoryBound(to: Int64.self)
            for (i, v) in rows.enumerated() { p[i] = Int64(v) }
            try Safetensors.write(["latents": latents, "indices": indices],
                                  metadata: ["format": "latteflow latent cache shard", "first_item": "\(first)", "items": "\(end - first)"], to: url)
            let bytes = ((try FileManager.default.attributesOfItem(atPath: url.path))[.size] as? NSNumber)?.intValue ?? -1
            return (.init(file: file, firstItem: first, items: end - first, rows: rows.count, skipped: skipped.map(\.index), bytes: bytes), skipped)
        }
    }

    /// Scaled latents of a batch's images, [n, variants, C, h, w] (variant 1: the mirrored images).
    static func latents(of batch: Batch, encoder: LatentEncoder, variants: Int, shape: inout [Int]) throws -> Tensor {
        let n = batch.count
        let x = Tensor(batch.pixels, shape: [n, batch.channels, batch.height, batch.width])
        var z = [try encoder.encode(x).contiguous()]
        if variants == 2 {
            z.append(try encoder.encode(Tensor(mirrored(batch), shape: x.shape)).contiguous())
        }
        let itemShape = Array(z[0].shape.dropFirst())
        guard z[0].rank == 4, z[0].dim(0) == n else {
            throw LatentCacheError("the \(encoder.kind) returned latents \(z[0].shape) for \(n) images; expected [\(n), C, h, w]")
        }
        if shape.isEmpty { shape = itemShape }
        guard itemShape == shape else {
            throw LatentCacheError("images of items \(batch.indices.first!)… give latents \(itemShape), earlier ones \(shape): every image must be prepared to one size (set a resolution)")
        }
        return Tensor.concat(z.map { $0.reshaped([n, 1] + itemShape) }, axis: 1).contiguous()
    }

    /// The batch's planar pixels with every image row reversed (a left–right flip).
    static func mirrored(_ batch: Batch) -> [Float] {
        var out = batch.pixels
        let w = batch.width
        out.withUnsafeMutableBufferPointer { p in
            for row in 0..<(p.count / w) {
                let base = row * w
                for x in 0..<(w / 2) { p.swapAt(base + x, base + w - 1 - x) }
            }
        }
        return out
    }

    /// The manifest entries of the dataset indices a batch left out. The loader records each file once,
    /// in order, so the new entries line up with `missing` unless a file was already skipped earlier
    /// (a caption list naming one image twice); those are matched by path.
    static func skippedItems(_ missing: [Int], new: [SkippedFiles.Entry], dataset: any Dataset) -> [LatentCacheManifest.SkippedItem] {
        if new.count == missing.count {
            return zip(missing, new).map { .init(index: $0, file: $1.file, reason: $1.reason) }
        }
        return missing.map { index in
            let path = (dataset as? any ImageFileDataset)?.imageFile(at: index).path ?? "item \(index)"
            let entry = new.first { $0.file == path }
            return .init(index: index, file: path, reason: entry?.reason ?? "unreadable (reported for an earlier item)")
        }
    }
}
