import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor

/// The prompt caches of a training run: every distinct prompt (class phrase or caption) prefilled once
/// through the frozen backbone before the first step, then looked up by entry for the whole run.
///
/// How much memory that takes, measured: a SmolLM2-135M cache holds 30 layers × (keys + values) × 3 K/V
/// heads × 64 = 11,520 values per token, 46 KB in f32. Fashion-MNIST's 40 class phrases take 9 MB. The
/// emoji model's training split (`--data emoji`: 5,244 images, 11,516 captions, 8,093 distinct, 8.9 tokens
/// on average with the start token) takes 3.3 GB in f32 and 1.7 GB in f16; EmojiOne's longer keyword
/// captions (18.3 tokens) would take 843 KB each, and a larger captioned set — 6,000 images × 3 captions
/// of ~20 tokens — 16 GB in f32 and still 8 GB in f16, so halving the precision in memory is not enough
/// on its own. Hence two stores:
///
/// - **memory, f32**, while the f32 table fits `memoryBudget`: each prompt prefilled alone, so the caches
///   are bit for bit those the class-conditional default model was trained with (a batched prefill can
///   differ in the last bits: the GEMM blocks a few-row prompt differently);
/// - **file, f16** otherwise (`PromptCacheFile`, in the run folder): each batch's rows are read back and
///   widened to f32, so the process holds only the batch and the page cache what fits of the rest; a
///   resumed run reuses the file instead of prefilling again. Measured on EmojiOne's 1,794 captions (2
///   busy cores): 757 MB of f16 written in 209 s of prefill while the process grew by 28 MB; a batch of
///   32 rows read back in 20 ms; reopening the file 0.2 s; worst relative error against f32 4.9e-4.
///   f16 keeps a relative error ≤ 2⁻¹¹; SmolLM2's keys and values stay below ~20, far inside its range
///   (a value beyond it is refused).
public final class PromptTable {
    enum Storage {
        case memory([PromptCache])
        case file(PromptCacheFile)
    }

    /// Number of distinct prompts.
    public let count: Int
    /// Tokens of each entry (start token included).
    public let lengths: [Int]
    /// Bytes the caches take where they are kept (memory or file).
    public let bytes: Int
    private let entryOfText: [String: Int]
    private let storage: Storage

    /// Caches of a default budget: f32 tables up to 500 MB stay in memory.
    public static let defaultMemoryBudget = 500_000_000
    /// Prompts prefilled together for the file store (sorted by length, so little padding): about twice
    /// a single prompt's throughput on SmolLM2 (measured: 0.11 against 0.21 s per caption on 2 busy cores).
    static let prefillBatch = 8

    /// A table over caches already computed (one row each), in memory; no texts.
    public init(caches: [PromptCache]) {
        precondition(caches.allSatisfy { $0.batch == 1 }, "a prompt table holds one-row caches")
        count = caches.count
        lengths = caches.map(\.length)
        bytes = caches.reduce(0) { $0 + 2 * $1.keys.reduce(0) { $0 + $1.count } * 4 }
        entryOfText = [:]
        storage = .memory(caches)
    }

    init(lengths: [Int], entryOfText: [String: Int], storage: Storage, bytes: Int) {
        count = lengths.count
        self.lengths = lengths
        self.entryOfText = entryOfText
        self.storage = storage
        self.bytes = bytes
    }

    /// Whether the caches are the backbone's f32 values (in memory) rather than f16 copies on disk.
    public var isExact: Bool {
        if case .memory = storage { return true }
        return false
    }

    /// The entry of a prompt text given to `prefill`.
    public func entry(for text: String) -> Int? { entryOfText[text] }

    /// One-row f32 caches of `entries`, in order (the same cache object each time for the memory store).
    public func caches(_ entries: [Int]) throws -> [PromptCache] {
        switch storage {
        case .memory(let all): return entries.map { all[$0] }
        case .file(let file): return try file.caches(entries)
        }
    }

    /// Prefills every distinct prompt among `texts` once (texts with the same tokens share an entry).
    /// `file` is where the f16 store goes when the f32 table would exceed `memoryBudget` bytes;
    /// `backboneName` is recorded there, so a run with another backbone prefills afresh.
    public static func prefill(texts: [String], tokens: PromptTokens, backbone: PromptBackbone, backboneName: String,
                               file: URL, memoryBudget: Int = defaultMemoryBudget, report: (String) -> Void) throws -> PromptTable {
        var tokensOfText: [String: [Int]] = [:]
        for text in texts where tokensOfText[text] == nil {
            do { tokensOfText[text] = try tokens.tokens(for: text) } catch {
                throw GeneratorError.invalidInput("prompt \"\(text.prefix(80))\": \(error)")
            }
        }
        // Entries sorted by length (then ids): a prefill batch pads little, and the order depends only on the prompts.
        let distinct = Array(Set(tokensOfText.values)).sorted { $0.count != $1.count ? $0.count < $1.count : $0.lexicographicallyPrecedes($1) }
        guard !distinct.isEmpty else { throw GeneratorError.invalidInput("no prompts to train on") }
        let entryOfTokens = Dictionary(uniqueKeysWithValues: distinct.enumerated().map { ($1, $0) })
        let entryOfText = tokensOfText.mapValues { entryOfTokens[$0]! }
        let lengths = distinct.map(\.count)
        let perToken = backbone.promptLayerCount * 2 * backbone.promptKVHeads * backbone.promptHeadDim
        let totalTokens = lengths.reduce(0, +)
        let f32Bytes = totalTokens * perToken * 4
        let mean = String(format: "%.1f", Double(totalTokens) / Double(distinct.count))
        let what = "\(distinct.count) distinct prompt\(distinct.count == 1 ? "" : "s") (of \(texts.count) texts, \(mean) tokens on average, \(perToken * 4) bytes per token in f32)"

        if f32Bytes <= memoryBudget {
            var caches: [PromptCache] = []
            caches.reserveCapacity(distinct.count)
            try prefillBatches(distinct, from: 0, batch: 1, backbone: backbone) { keys, values, rows in
                for r in 0..<rows {
                    let n = lengths[caches.count]
                    func row(_ x: Tensor) -> Tensor { x.sliced(axis: 0, r..<(r + 1)).sliced(axis: 2, 0..<n).contiguous() }
                    caches.append(PromptCache(keys: keys.map(row), values: values.map(row), lengths: [n]))
                }
            }
            report("prompt caches: \(what): \(byteCount(f32Bytes)) in memory (f32)")
            return PromptTable(lengths: lengths, entryOfText: entryOfText, storage: .memory(caches), bytes: f32Bytes)
        }

        var digest = SHA256()
        for ids in distinct {
            var bytes: [UInt8] = []
            for id in ids + [-1] { withUnsafeBytes(of: Int32(truncatingIfNeeded: id).littleEndian) { bytes += $0 } }
            digest.update(bytes)   // -1 ends each prompt
        }
        let header = PromptCacheFile.Header(backbone: backboneName, layers: backbone.promptLayerCount, kvHeads: backbone.promptKVHeads,
                                            headDim: backbone.promptHeadDim, entries: distinct.count, tokens: SHA256.hex(digest.finalize()))
        let store = try PromptCacheFile(url: file, header: header, lengths: lengths)
        if store.complete > 0 { try checkBackbone(store, prompt: distinct[0], backbone: backbone) }
        let reused = store.complete
        try prefillBatches(distinct, from: reused, batch: prefillBatch, backbone: backbone) { keys, values, _ in try store.append(keys: keys, values: values) }
        let kept = reused == distinct.count ? "all reused" : reused > 0 ? "\(reused) reused" : "new"
        report("prompt caches: \(what): \(byteCount(store.bytes)) in f16 in \(file.path) (\(kept)); in memory as f32 they would take \(byteCount(f32Bytes)), over the \(byteCount(memoryBudget)) budget")
        return PromptTable(lengths: lengths, entryOfText: entryOfText, storage: .file(store), bytes: store.bytes)
    }

    /// Prefills `prompts[start...]`, `batch` consecutive prompts at a time, with a progress line when
    /// there is more than one batch.
    private static func prefillBatches(_ prompts: [[Int]], from start: Int, batch size: Int, backbone: PromptBackbone,
                                       _ take: ([Tensor], [Tensor], Int) throws -> Void) throws {
        var progress = TrainingProgress(total: prompts.count, startingAt: start, label: "prefilling prompts")
        var done = start
        while done < prompts.count {
            let batch = Array(prompts[done..<Swift.min(done + size, prompts.count)])
            let (keys, values, _) = backbone.prefill(prompts: batch)
            try take(keys, values, batch.count)
            done += batch.count
            if prompts.count - start > size { progress.update(step: done, fields: []) }
        }
    }

    /// A reused file must come from this backbone: its first prompt, prefilled again, matches what is stored
    /// (to f16 precision), else the file is from another backbone at the same name and is refused.
    private static func checkBackbone(_ store: PromptCacheFile, prompt: [Int], backbone: PromptBackbone) throws {
        let stored = try store.caches([0])[0]
        let (keys, values, _) = backbone.prefill(prompts: [prompt])
        for (a, b) in zip(stored.keys + stored.values, keys + values) {
            let x = a.toArray(), y = b.toArray()
            let scale = y.reduce(Float(0)) { Swift.max($0, abs($1)) }
            let worst = zip(x, y).reduce(Float(0)) { Swift.max($0, abs($1.0 - $1.1)) }
            guard worst <= 1e-2 * Swift.max(scale, 1) else {
                throw GeneratorError.invalidInput("the prompt caches in \(store.url.path) were prefilled by another backbone than this run's \(store.header.backbone) (a key differs by \(worst)): delete the file (and its .json) to prefill again")
            }
        }
    }

    static func byteCount(_ bytes: Int) -> String {
        let units = ["bytes", "KB", "MB", "GB", "TB"]
        var value = Double(bytes), unit = 0
        while value >= 1000 && unit < units.count - 1 { value /= 1000; unit += 1 }
        return unit == 0 ? "\(bytes) bytes" : String(format: "%.1f %@", value, units[unit])
    }
}
