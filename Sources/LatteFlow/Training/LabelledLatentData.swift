import Foundation
import LatteFormats
import LatteTensor

/// Training data for a class-conditional text-to-image model: precomputed autoencoder latents with
/// class labels, and per class the prompt-table entries of its phrasings (each prefilled once). Batches
/// are drawn from a seeded shuffle per epoch and each row gets one of its class's phrases, chosen by a
/// hash of (seed, epoch, item) (`LatentEpochs`), so the stream depends only on the seed and the
/// position — which is what a checkpoint saves. A flip-augmented latent cache gives each row as it is or
/// mirrored, drawn per (seed, epoch, item) (`LatentRows`).
public struct LabelledLatentData: GeneratorTrainingData {
    public let latents: any LatentRows
    public let labels: [Int]
    /// Per class, the `prompts` entries of its phrases.
    public let phrases: [[Int]]
    public let prompts: PromptTable
    private var epochs: LatentEpochs

    public var batchSize: Int { epochs.batchSize }
    public var seed: UInt64 { epochs.seed }
    public var epoch: Int { epochs.epoch }
    public var position: Int { epochs.position }

    /// `latents` [N, C, H, W] (already scaled for the generator), `labels` N class indices, `phrases`
    /// one non-empty list of one-row prompt caches per class.
    public init(latents: Tensor, labels: [Int], phrases: [[PromptCache]], batchSize: Int, seed: UInt64) throws {
        try self.init(latents: try LatentTensor(latents), labels: labels, phrases: phrases, batchSize: batchSize, seed: seed)
    }

    /// The same over latents read by rows (an on-disk cache).
    public init(latents: any LatentRows, labels: [Int], phrases: [[PromptCache]], batchSize: Int, seed: UInt64) throws {
        var next = 0
        let entries = phrases.map { $0.map { _ in defer { next += 1 }; return next } }
        try self.init(latents: latents, labels: labels, phrases: entries, prompts: PromptTable(caches: phrases.flatMap { $0 }),
                      batchSize: batchSize, seed: seed)
    }

    /// Phrases as entries of a prompt table: `phrases[c]` lists class c's entries.
    public init(latents: any LatentRows, labels: [Int], phrases: [[Int]], prompts: PromptTable, batchSize: Int, seed: UInt64) throws {
        guard latents.count == labels.count, !labels.isEmpty else {
            throw GeneratorError.invalidInput("\(latents.count) latents and \(labels.count) labels do not match")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= phrases.count || phrases[$0].isEmpty }) {
            throw GeneratorError.invalidInput("label \(bad) has no prompt phrases")
        }
        if let bad = phrases.joined().first(where: { $0 < 0 || $0 >= prompts.count }) {
            throw GeneratorError.invalidInput("phrase entry \(bad) is not in the prompt table of \(prompts.count)")
        }
        self.latents = latents
        self.labels = labels
        self.phrases = phrases
        self.prompts = prompts
        epochs = LatentEpochs(count: labels.count, batchSize: batchSize, seed: seed)
    }

    public mutating func next() throws -> (latents: Tensor, prompts: [PromptCache]) {
        let rows = epochs.nextRows()
        let entries = rows.map { item -> Int in
            let choices = phrases[labels[item]]
            return choices[epochs.choice(item: item, among: choices.count)]
        }
        return (try latents.rows(rows, seed: seed, epoch: epoch), try prompts.caches(entries))
    }

    /// Reads only rows `keep(B)` of the batch from the cache and the prompt table.
    public mutating func next(keeping keep: (Int) -> Range<Int>) throws -> PartialBatch {
        let rows = epochs.nextRows()
        let entries = rows.map { item -> Int in
            let choices = phrases[labels[item]]
            return choices[epochs.choice(item: item, among: choices.count)]
        }
        let kept = keep(rows.count)
        return PartialBatch(rows: rows.count, kept: kept, latents: try latents.rows(Array(rows[kept]), seed: seed, epoch: epoch),
                            prompts: try prompts.caches(Array(entries[kept])), lengths: entries.map { prompts.lengths[$0] })
    }

    public func savedState() throws -> String { try epochs.savedState() }

    public mutating func restore(_ state: String) throws { try epochs.restore(state) }
}
