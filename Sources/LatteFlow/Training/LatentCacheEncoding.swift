import Foundation
import LatteFormats
import LatteNN
import LatteTensor

extension LatentCache {
    /// Encodes the shards `manifest` does not list yet, in order: each is written atomically, then the
    /// manifest is rewritten to list it (so a kill between the two leaves an unlisted shard, which the
    /// next run overwrites). Batches start at each shard's first item, so a resumed cache holds the same
    /// bytes as an uninterrupted one.
    static func encode(into manifest: inout LatentCacheManifest, directory: URL, encoder: LatentEncoder, dataset: any Dataset,
                       preparation: ImagePreparation, options: Options, report: (String) -> Void) throws {
        // Mirrored variants are made here, not by the loader's random flip: every item gets both.
        var plain = preparation
        plain.horizontalFlip = false
        let skippedFiles = SkippedFiles()
        let loader = plain.loaderOptions(batchSize: 1, shuffle: false, seed: 0, unreadableImages: .skip(skippedFiles))
        let batchSize = manifest.batchSize
        let total = dataset.count, per = manifest.shardItems
        let shardCount = (total + per - 1) / per
        let manifestURL = directory.appendingPathComponent(LatentCacheManifest.fileName)
        report("latents: encoding \(total - manifest.itemsDone) images with the \(encoder.kind) into \(directory.path) (\(shardCount - manifest.shards.count) shard\(shardCount - manifest.shards.count == 1 ? "" : "s") of \(per) items, \(batchSize) per batch\(manifest.variants > 1 ? ", each also mirrored" : ""))")
        var progress = TrainingProgress(total: total, startingAt: manifest.itemsDone, label: "encoding latents")
        var written = 0
        for k in manifest.shards.count..<shardCount {
            let first = k * per, end = Swift.min(total, first + per)
            var parts: [Tensor] = [], rows: [Int] = [], skipped: [LatentCacheManifest.SkippedItem] = []
            for start in stride(from: first, to: end, by: batchSize) {
                let wanted = Array(start..<Swift.min(end, start + batchSize))
                let recorded = skippedFiles.count
                let batch = try DataLoader.batch(of: dataset, indices: wanted, options: loader)
                let missing = Set(wanted).subtracting(batch.indices).sorted()
                for item in skippedItems(missing, new: Array(skippedFiles.files[recorded...]), dataset: dataset) {
                    report("latents: skipped unreadable image \(item.file): \(item.reason)")
                    skipped.append(item)
                }
                if batch.count > 0 {
                    parts.append(try latents(of: batch, encoder: encoder, variants: manifest.variants, shape: &manifest.latentShape))
                    rows += batch.indices
                }
                progress.update(step: start + wanted.count, fields: [("rows", "\(manifest.rows + rows.count)"),
                                                                    ("skipped", "\(manifest.skipped.count + skipped.count)")])
            }
            let file = shardName(k), url = directory.appendingPathComponent(file)
            let latents = parts.isEmpty ? Tensor.empty([0, manifest.variants] + (manifest.latentShape.isEmpty ? [1, 1, 1] : manifest.latentShape))
                : Tensor.concat(parts, axis: 0)
            let indices = Tensor.empty([rows.count], dtype: .int64)
            let p = indices.storage.base.assumingMemoryBound(to: Int64.self)
            for (i, v) in rows.enumerated() { p[i] = Int64(v) }
            try Safetensors.write(["latents": latents, "indices": indices],
                                  metadata: ["format": "latteflow latent cache shard", "first_item": "\(first)", "items": "\(end - first)"], to: url)
            let bytes = ((try FileManager.default.attributesOfItem(atPath: url.path))[.size] as? NSNumber)?.intValue ?? -1
            manifest.shards.append(.init(file: file, firstItem: first, items: end - first, rows: rows.count,
                                         skipped: skipped.map(\.index), bytes: bytes))
            manifest.skipped += skipped
            manifest.complete = k == shardCount - 1
            try manifest.write(manifestURL)
            written += 1
            if let stop = options.stopAfterShards, written >= stop, !manifest.complete {
                throw LatentCacheError("latents: stopped after writing \(written) shards (stopAfterShards); open the cache again to continue")
            }
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
