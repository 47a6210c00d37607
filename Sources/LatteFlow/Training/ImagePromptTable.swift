import Foundation
import LatteFormats
import LatteNN
import LatteTensor

/// The image prompts of a `latte train-like` run, prefilled once before the first step into a
/// `PromptTable` (entry i = prompt image i), through `ImagePromptEncoder` — the code `latte generate
/// --like` samples with.
///
/// Why cache them: an image prompt is 32 tokens (16 image tokens, the ChatML head and the instruction);
/// its SmolLM2 prefill took a fifth of a 32-row generator step (measured, one loaded thread: 13 prompts/s,
/// 2.5 steps/s), so prefilling each image step's 32 afresh would make the step ~7× dearer. Its keys and
/// values are 32 × 11,520 values, 0.74 MB in f16 (1.5 MB in f32),
/// so a pool of prompt images (not the whole training set: 60,000 would take 44 GB) is prefilled once
/// and each row draws its prompt from the pool. Stores as `PromptTable.prefill`: f32 in memory within
/// the budget, else f16 in a file of the run folder (`PromptCacheFile`), reused on resume, continued after a kill.
extension PromptTable {
    /// Prompt images prefilled together (all prompts have one length, so no padding).
    static let imagePrefillBatch = 8

    /// Prefills one image prompt per row of `tokens` [P, T, C] (the pool's pooled encoder tokens, f16 or
    /// f32). `projectorDigest` (the vision weights' SHA-256) and the tokens themselves go into the file's
    /// digest, so a file made with another projector, other images or another instruction is prefilled afresh.
    public static func prefillImages(tokens: Tensor, encoder: ImagePromptEncoder, backboneName: String, projectorDigest: String,
                                     file: URL, memoryBudget: Int = defaultMemoryBudget, report: (String) -> Void) throws -> PromptTable {
        let count = tokens.shape[0], n = encoder.length
        guard count > 0 else { throw GeneratorError.invalidInput("no prompt images to prefill") }
        let lm = encoder.lm.geometry
        let perToken = lm.layerCount * 2 * lm.kvHeadCount * lm.headDim
        let lengths = [Int](repeating: n, count: count)
        let f32Bytes = count * n * perToken * 4
        let what = "\(count) image prompts of \(n) tokens (\(encoder.tokensPerImage) image tokens, instruction \"\(encoder.instruction)\")"
        var progress = TrainingProgress(total: count, label: "prefilling image prompts")
        func batches(from start: Int, _ take: (PromptCache) throws -> Void) throws {
            var done = start
            while done < count {
                let rows = done..<Swift.min(done + imagePrefillBatch, count)
                try take(encoder.caches(tokens: tokens.sliced(axis: 0, rows)))
                done = rows.upperBound
                if count > imagePrefillBatch { progress.update(step: done, fields: []) }
            }
        }

        if f32Bytes <= memoryBudget {
            var caches: [PromptCache] = []
            try batches(from: 0) { batch in
                for r in 0..<batch.batch {
                    func row(_ x: Tensor) -> Tensor { x.sliced(axis: 0, r..<(r + 1)).contiguous() }
                    caches.append(PromptCache(keys: batch.keys.map(row), values: batch.values.map(row), lengths: [n]))
                }
            }
            report("image prompts: \(what): \(byteCount(f32Bytes)) in memory (f32)")
            return PromptTable(lengths: lengths, entryOfText: [:], storage: .memory(caches), bytes: f32Bytes)
        }

        var digest = SHA256()
        var ids: [UInt8] = []
        for id in encoder.prompt.ids { withUnsafeBytes(of: Int32(truncatingIfNeeded: id).littleEndian) { ids += $0 } }
        digest.update(ids)
        digest.update(Array(projectorDigest.utf8))
        let half = tokens.to(.float16).contiguous()
        withExtendedLifetime(half) { digest.update(UnsafeRawBufferPointer(start: half.storage.base + half.offset * 2, count: half.count * 2)) }
        let header = PromptCacheFile.Header(backbone: backboneName, layers: lm.layerCount, kvHeads: lm.kvHeadCount, headDim: lm.headDim,
                                            entries: count, tokens: SHA256.hex(digest.finalize()))
        let store = try PromptCacheFile(url: file, header: header, lengths: lengths)
        if store.complete > 0 {
            // The same name may hold another backbone: the first stored prompt must come out again.
            let stored = try store.caches([0])[0], again = encoder.caches(tokens: tokens.sliced(axis: 0, 0..<1))
            for (a, b) in zip(stored.keys + stored.values, again.keys + again.values) {
                let worst = zip(a.toArray(), b.toArray()).reduce(Float(0)) { Swift.max($0, abs($1.0 - $1.1)) }
                let scale = b.toArray().reduce(Float(1)) { Swift.max($0, abs($1)) }
                guard worst <= 1e-2 * scale else {
                    throw GeneratorError.invalidInput("the image prompts in \(file.path) were prefilled by another backbone than this run's \(backboneName) (a key differs by \(worst)): delete the file (and its .json) to prefill again")
                }
            }
        }
        let reused = store.complete
        try batches(from: reused) { batch in try store.append(keys: batch.keys, values: batch.values) }
        let kept = reused == count ? "all reused" : reused > 0 ? "\(reused) reused" : "new"
        report("image prompts: \(what): \(byteCount(store.bytes)) in f16 in \(file.path) (\(kept)); in memory as f32 they would take \(byteCount(f32Bytes)), over the \(byteCount(memoryBudget)) budget")
        return PromptTable(lengths: lengths, entryOfText: [:], storage: .file(store), bytes: store.bytes)
    }
}
