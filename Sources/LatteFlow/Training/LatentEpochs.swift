import Foundation
import LatteFormats

/// The order every generator training set walks its latent rows in: a seeded shuffle per epoch, batches
/// of `batchSize` rows without the ragged tail, and per row and epoch one choice among the row's prompts
/// from a hash of (seed, epoch, item). The stream depends only on the seed and the position, which is
/// what a checkpoint saves (`State`), so a resumed run sees the batches an uninterrupted one would.
/// `LabelledLatentData` (class phrases) and `CaptionedLatentData` (captions) share it.
struct LatentEpochs {
    let count: Int
    let batchSize: Int
    let seed: UInt64
    private(set) var epoch = 0
    private(set) var position = 0
    private var order: [Int]

    /// The checkpointed position; the field names are those older checkpoints were written with.
    struct State: Codable { var epoch: Int; var position: Int; var seed: UInt64; var count: Int }

    /// `batchSize` is clamped to 1…count.
    init(count: Int, batchSize: Int, seed: UInt64) {
        self.count = count
        self.batchSize = Swift.max(1, Swift.min(batchSize, count))
        self.seed = seed
        order = Self.order(count: count, seed: seed, epoch: 0)
    }

    static func order(count: Int, seed: UInt64, epoch: Int) -> [Int] {
        var rng = SplitMix64(seed: SplitMix64.mix(seed &+ UInt64(epoch) &* 0x9E37_79B9_7F4A_7C15))
        var o = Array(0..<count)
        for i in stride(from: count - 1, to: 0, by: -1) { o.swapAt(i, rng.next(below: i + 1)) }
        return o
    }

    /// The rows of the next batch (a new epoch starts when fewer than a batch remain).
    mutating func nextRows() -> [Int] {
        if position + batchSize > count {   // drop the ragged tail: every batch has batchSize rows
            epoch += 1
            position = 0
            order = Self.order(count: count, seed: seed, epoch: epoch)
        }
        let rows = Array(order[position..<(position + batchSize)])
        position += batchSize
        return rows
    }

    /// Which of `choices` (> 0) prompts `item` uses in the current epoch.
    func choice(item: Int, among choices: Int) -> Int {
        let h = SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(epoch) << 32 | UInt64(item)))
        return Int(h % UInt64(choices))
    }

    func savedState() throws -> String {
        String(decoding: try JSONEncoder().encode(State(epoch: epoch, position: position, seed: seed, count: count)), as: UTF8.self)
    }

    /// Refuses a state saved for another seed or number of items.
    mutating func restore(_ state: String) throws {
        let s = try JSONDecoder().decode(State.self, from: Data(state.utf8))
        guard s.seed == seed, s.count == count else {
            throw GeneratorError.invalidInput("the checkpoint's data position is for seed \(s.seed) over \(s.count) items, this run has seed \(seed) over \(count)")
        }
        guard s.epoch >= 0, s.position >= 0, s.position <= count else {
            throw GeneratorError.invalidInput("the checkpoint's data position (epoch \(s.epoch), item \(s.position)) is not within \(count) items")
        }
        epoch = s.epoch
        position = s.position
        order = Self.order(count: count, seed: seed, epoch: epoch)
    }
}
