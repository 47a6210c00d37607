import LatteTensor

/// The latents a generator trains on, read a batch of rows at a time by item index. Today either a tensor
/// in memory (`LatentTensor`) or the shards of an on-disk latent cache; the training data types
/// (`LabelledLatentData`, captioned data) only see this protocol, so a cache larger than RAM trains the
/// same way as a small one.
public protocol LatentRows {
    /// Number of items.
    var count: Int { get }
    /// Shape of one item's latent, [C, H, W].
    var itemShape: [Int] { get }
    /// The latents of `indices`, stacked in that order: [indices.count, C, H, W].
    func rows(_ indices: [Int]) throws -> Tensor
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
