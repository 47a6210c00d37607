import Foundation
import LatteTensor

/// Training data for a text-to-image model trained on captions: precomputed autoencoder latents, and
/// per latent row its own captions as entries of a prompt table (each distinct caption prefilled once).
/// Batches come from the same seeded order as `LabelledLatentData` (`LatentEpochs`): a shuffle per
/// epoch, and per row one of its captions from a hash of (seed, epoch, item), so a row with several
/// captions is seen with each over the epochs and a resumed run sees the same batches. A flip-augmented
/// latent cache gives each row as it is or mirrored, drawn per (seed, epoch, item) (`LatentRows`).
public struct CaptionedLatentData: GeneratorTrainingData {
    public let latents: any LatentRows
    /// Per latent row, the `prompts` entries of its captions (at least one).
    public let captions: [[Int]]
    public let prompts: PromptTable
    private var epochs: LatentEpochs

    public var batchSize: Int { epochs.batchSize }
    public var seed: UInt64 { epochs.seed }
    public var epoch: Int { epochs.epoch }
    public var position: Int { epochs.position }

    public init(latents: any LatentRows, captions: [[Int]], prompts: PromptTable, batchSize: Int, seed: UInt64) throws {
        guard latents.count == captions.count, !captions.isEmpty else {
            throw GeneratorError.invalidInput("\(latents.count) latents and \(captions.count) caption lists do not match")
        }
        if let row = captions.firstIndex(where: \.isEmpty) { throw GeneratorError.invalidInput("latent row \(row) has no caption") }
        if let bad = captions.joined().first(where: { $0 < 0 || $0 >= prompts.count }) {
            throw GeneratorError.invalidInput("caption entry \(bad) is not in the prompt table of \(prompts.count)")
        }
        self.latents = latents
        self.captions = captions
        self.prompts = prompts
        epochs = LatentEpochs(count: captions.count, batchSize: batchSize, seed: seed)
    }

    /// Captions as texts, each looked up in a table prefilled from them (`PromptTable.prefill`).
    public init(latents: any LatentRows, captions texts: [[String]], prompts: PromptTable, batchSize: Int, seed: UInt64) throws {
        let entries = try texts.enumerated().map { row, list in
            try list.map { text -> Int in
                guard let entry = prompts.entry(for: text) else {
                    throw GeneratorError.invalidInput("latent row \(row): caption \"\(text.prefix(80))\" is not in the prompt table")
                }
                return entry
            }
        }
        try self.init(latents: latents, captions: entries, prompts: prompts, batchSize: batchSize, seed: seed)
    }

    public mutating func next() throws -> (latents: Tensor, prompts: [PromptCache]) {
        let rows = epochs.nextRows()
        let entries = rows.map { item -> Int in
            let choices = captions[item]
            return choices[epochs.choice(item: item, among: choices.count)]
        }
        return (try latents.rows(rows, seed: seed, epoch: epoch), try prompts.caches(entries))
    }

    /// Reads only rows `keep(B)` of the batch from the cache and the prompt table.
    public mutating func next(keeping keep: (Int) -> Range<Int>) throws -> PartialBatch {
        let rows = epochs.nextRows()
        let entries = rows.map { item -> Int in
            let choices = captions[item]
            return choices[epochs.choice(item: item, among: choices.count)]
        }
        let kept = keep(rows.count)
        return PartialBatch(rows: rows.count, kept: kept, latents: try latents.rows(Array(rows[kept]), seed: seed, epoch: epoch),
                            prompts: try prompts.caches(Array(entries[kept])), lengths: entries.map { prompts.lengths[$0] })
    }

    public func savedState() throws -> String { try epochs.savedState() }

    public mutating func restore(_ state: String) throws { try epochs.restore(state) }
}
