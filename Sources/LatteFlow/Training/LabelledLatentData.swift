import Foundation
import LatteFormats
import LatteTensor

/// Training data for a class-conditional text-to-image model: precomputed autoencoder latents with
/// class labels, and per class the prompt caches of its phrasings (each prefilled once). Batches are
/// drawn from a seeded shuffle per epoch and each row gets one of its class's phrases, chosen by a
/// hash of (seed, epoch, item), so the stream depends only on the seed and the position — which is
/// what a checkpoint saves.
public struct LabelledLatentData: GeneratorTrainingData {
    public let latents: any LatentRows
    public let labels: [Int]
    public let phrases: [[PromptCache]]
    public let batchSize: Int
    public let seed: UInt64
    public private(set) var epoch = 0
    public private(set) var position = 0
    private var order: [Int]

    struct State: Codable { var epoch: Int; var position: Int; var seed: UInt64; var count: Int }

    /// `latents` [N, C, H, W] (already scaled for the generator), `labels` N class indices, `phrases`
    /// one non-empty list of one-row prompt caches per class.
    public init(latents: Tensor, labels: [Int], phrases: [[PromptCache]], batchSize: Int, seed: UInt64) throws {
        try self.init(latents: try LatentTensor(latents), labels: labels, phrases: phrases, batchSize: batchSize, seed: seed)
    }

    /// The same over latents read by rows (an on-disk cache).
    public init(latents: any LatentRows, labels: [Int], phrases: [[PromptCache]], batchSize: Int, seed: UInt64) throws {
        guard latents.count == labels.count, !labels.isEmpty else {
            throw GeneratorError.invalidInput("\(latents.count) latents and \(labels.count) labels do not match")
        }
        if let bad = labels.first(where: { $0 < 0 || $0 >= phrases.count || phrases[$0].isEmpty }) {
            throw GeneratorError.invalidInput("label \(bad) has no prompt phrases")
        }
        self.latents = latents
        self.labels = labels
        self.phrases = phrases
        self.batchSize = Swift.max(1, Swift.min(batchSize, labels.count))
        self.seed = seed
        order = Self.order(count: labels.count, seed: seed, epoch: 0)
    }

    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
        var o = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { o.swapAt(i, rng.next(below: i + 1)) }
        return o
    }

    public mutating func next() throws -> (latents: Tensor, prompts: [PromptCache]) {
        if position + batchSize > labels.count {   // drop the ragged tail: every batch has batchSize rows
            epoch += 1
            position = 0
            order = Self.order(count: labels.count, seed: seed, epoch: epoch)
        }
        let rows = Array(order[position..<(position + batchSize)])
        position += batchSize
        let prompts = rows.map { item -> PromptCache in
            let choices = phrases[labels[item]]
            let h = SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(epoch) << 32 | UInt64(item)))
            return choices[Int(h % UInt64(choices.count))]
        }
        return (try latents.rows(rows, seed: seed, epoch: epoch), prompts)
    }

    public func savedState() throws -> String {
        String(decoding: try JSONEncoder().encode(State(epoch: epoch, position: position, seed: seed, count: labels.count)), as: UTF8.self)
    }

    public mutating func restore(_ state: String) throws {
        let s = try JSONDecoder().decode(State.self, from: Data(state.utf8))
        guard s.seed == seed, s.count == labels.count else {
            throw GeneratorError.invalidInput("the checkpoint's data position is for seed \(s.seed) over \(s.count) items, this run has seed \(seed) over \(labels.count)")
        }
        epoch = s.epoch
        position = s.position
        order = Self.order(count: labels.count, seed: seed, epoch: epoch)
    }
}
