import Foundation

/// A block of memory holding tensor elements. Storage is shared by views; it is freed when the last
/// tensor using it goes away. Memory is 64-byte aligned (one cache line, one AVX-512 register).
public final class TensorStorage: @unchecked Sendable {
    public let dtype: DType
    /// Number of elements of `dtype` the block holds.
    public let count: Int
    public let base: UnsafeMutableRawPointer
    private let release: (() -> Void)?

    /// Fresh, uninitialised storage.
    public init(dtype: DType, count: Int) {
        precondition(count >= 0, "negative element count")
        self.dtype = dtype
        self.count = count
        let bytes = Swift.max(count * dtype.size, 64)
        self.base = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
        let base = self.base
        self.release = { base.deallocate() }
    }

    /// Wraps memory owned elsewhere (a memory-mapped file, an arena); `release` runs on deinit and may
    /// capture the owner to keep it alive.
    public init(dtype: DType, count: Int, base: UnsafeMutableRawPointer, release: (() -> Void)?) {
        self.dtype = dtype
        self.count = count
        self.base = base
        self.release = release
    }

    deinit { release?() }

    public var float32: UnsafeMutablePointer<Float> { base.assumingMemoryBound(to: Float.self) }
}
