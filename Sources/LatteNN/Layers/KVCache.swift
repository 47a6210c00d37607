import LatteTensor

/// Keys (after RoPE) and values of the positions seen so far, per layer, for incremental decoding.
///
/// Each layer's buffer is [B, kvHeads, capacity, headDim]; it grows by whole chunks (default 256
/// positions) so decoding copies the cache only every `chunk` tokens, not every token. Attention reads
/// the filled part through a strided view, without a copy.
public final class KVCache {
    public let batch: Int
    public let kvHeads: Int
    public let headDim: Int
    public let chunk: Int
    /// Positions committed (visible to the next call).
    public private(set) var length = 0
    public private(set) var capacity: Int
    /// Added to `length` to give the rotary position of the next token. 0 for text; a Qwen2-VL prompt
    /// with images sets its rope delta (≤ 0: an image takes fewer positions than it has tokens).
    public var positionOffset = 0
    private var keyBuffers: [Tensor]
    private var valueBuffers: [Tensor]

    public init(layerCount: Int, kvHeads: Int, headDim: Int, batch: Int = 1, capacity: Int = 0, chunk: Int = 256) {
        precondition(batch > 0 && chunk > 0, "KVCache: batch and chunk must be positive")
        self.batch = batch
        (self.kvHeads, self.headDim, self.chunk) = (kvHeads, headDim, chunk)
        self.capacity = capacity
        keyBuffers = (0..<layerCount).map { _ in Tensor.empty([batch, kvHeads, capacity, headDim]) }
        valueBuffers = keyBuffers.map { _ in Tensor.empty([batch, kvHeads, capacity, headDim]) }
    }

    public var layerCount: Int { keyBuffers.count }

    /// The rotary position the next token takes.
    public var nextPosition: Int { length + positionOffset }

    /// The committed keys of every layer, [B, kvHeads, length, headDim] views.
    public var keys: [Tensor] { keyBuffers.map { $0.sliced(axis: 2, 0..<length) } }
    public var values: [Tensor] { valueBuffers.map { $0.sliced(axis: 2, 0..<length) } }

    /// Writes `keys` and `values` [B, kvHeads, t, headDim] after the committed positions of `layer` and
    /// returns that layer's keys and values up to and including them. Every layer appends the same t
    /// positions during one forward pass; `commit(t)` then advances `length`.
    func append(layer: Int, keys k: Tensor, values v: Tensor) -> (Tensor, Tensor) {
        let t = k.shape[2]
        precondition(k.shape == [batch, kvHeads, t, headDim] && v.shape == k.shape,
                     "KVCache: appending keys \(k.shape) / values \(v.shape) to a cache of [\(batch), \(kvHeads), _, \(headDim)]")
        if length + t > capacity { grow(to: length + t) }
        let kc = k.toFloat32().contiguous(), vc = v.toFloat32().contiguous()
        let kb = keyBuffers[layer], vb = valueBuffers[layer]
        withExtendedLifetime((kc, vc, kb, vb)) {
            for row in 0..<(batch * kvHeads) {
                let dst = (row * capacity + length) * headDim, src = row * t * headDim
                (kb.f32 + dst).update(from: kc.f32 + src, count: t * headDim)
                (vb.f32 + dst).update(from: vc.f32 + src, count: t * headDim)
            }
        }
        return (kb.sliced(axis: 2, 0..<(length + t)), vb.sliced(axis: 2, 0..<(length + t)))
    }

    /// Makes the `t` positions every layer appended in this forward pass visible to the next one.
    public func commit(_ t: Int) {
        length += t
        precondition(length <= capacity, "KVCache: committed \(length) positions beyond capacity \(capacity)")
    }

    /// Forgets everything (keeps the buffers).
    public func reset() {
        length = 0
        positionOffset = 0
    }

    private func grow(to needed: Int) {
        let newCapacity = (needed + chunk - 1) / chunk * chunk
        func regrow(_ old: Tensor) -> Tensor {
            let new = Tensor.empty([batch, kvHeads, newCapacity, headDim])
            withExtendedLifetime(old) {
                for row in 0..<(batch * kvHeads) where length > 0 {
                    (new.f32 + row * newCapacity * headDim).update(from: old.f32 + row * capacity * headDim, count: length * headDim)
                }
            }
            return new
        }
        keyBuffers = keyBuffers.map(regrow)
        valueBuffers = valueBuffers.map(regrow)
        capacity = newCapacity
    }
}
