import LatteFormats
import LatteTensor

/// The latents a generator trains on, read a batch of rows at a time by item index. Either a tensor
/// in memory (`LatentTensor`) or the memory-mapped shards of an on-disk `LatentCache`; the training data
/// types (`LabelledLatentData`, captioned data) only see this protocol, so a cache larger than RAM trains
/// the same way as a small one.
///
/// An item may have several stored variants: a cache made with horizontal flips holds each image as it
/// is (variant 0) and mirrored (variant 1), because the latent of a mirrored image is not the mirrored
/// latent. Training reads through `rows(_:seed:epoch:)`, which picks one variant per (seed, epoch, item).
public protocol LatentRows {
    /// Number of items.
    var count: Int { get }
    /// Shape of one item's latent, [C, H, W].
    var itemShape: [Int] { get }
    /// Stored variants per item (1, or 2 for a flip-augmented cache).
    var variantCount: Int { get }
    /// The latents of `indices` (variant 0), stacked in that order: [indices.count, C, H, W].
    func rows(_ indices: [Int]) throws -> Tensor
    /// The same with one variant (0..<variantCount) per index.
    func rows(_ indices: [Int], variants: [Int]) throws -> Tensor
}

extension LatentRows {
    public var variantCount: Int { 1 }

    public func rows(_ indices: [Int], variants: [Int]) throws -> Tensor {
        guard variants.allSatisfy({ $0 == 0 }) else {
            throw GeneratorError.invalidInput("these latents hold one variant per item; asked for variants \(Set(variants).sorted())")
        }
        return try rows(indices)
    }

    /// What training reads: with several variants, one drawn per (seed, epoch, item) — a stream of its own,
    /// so a resumed run reads exactly what the uninterrupted run read.
    public func rows(_ indices: [Int], seed: UInt64, epoch: Int) throws -> Tensor {
        guard variantCount > 1 else { return try rows(indices) }
        let n = UInt64(variantCount)
        let variants = indices.map { item in
            Int(SplitMix64.mix(seed ^ 0xF11B_F11B ^ SplitMix64.mix(UInt64(epoch) << 32 | UInt64(item))) % n)
        }
        return try rows(indices, variants: variants)
    }
}

/// Latents held in one [N, C, H, W] tensor.
public struct LatentTensor: LatentRows {
    public let tensor: Tensor

    public init(_ tensor: Tensor) throws {
        guard tensor.rank == 4 else { throw GeneratorError.invalidInput("latents must be [N, C, H, W], got \(tensor.shape)") }
        self.tensor = tensor.contiguous()
    }

    public var count: Int { tensor.dim(0) }
    public var itemShape: [Int] { Array(tensor.shape.dropFirst()) }
    public func rows(_ indices: [Int]) throws -> Tensor { tensor.indexSelect(axis: 0, indices: Tensor(indices: indices)) }
}
