/// An n-dimensional array: a view (shape, strides, offset) onto shared storage.
///
/// Tensors are values: every op returns a new tensor and never changes its inputs, so views can share
/// storage freely. Inside a `GradientTape` a tensor may carry a gradient slot, which makes it a
/// differentiable value that ops record (see `Autograd/`).
public struct Tensor: @unchecked Sendable {
    public let storage: TensorStorage
    public let shape: [Int]
    /// Element strides per dimension (0 for broadcast dimensions made by `expand`).
    public let strides: [Int]
    /// Offset of element [0, 0, …] in storage elements.
    public let offset: Int
    /// Identity on the active tape; nil for constants.
    public internal(set) var gradSlot: GradSlot?

    public init(storage: TensorStorage, shape: [Int], strides: [Int]? = nil, offset: Int = 0) {
        self.storage = storage
        self.shape = shape
        self.strides = strides ?? Shape.contiguousStrides(shape)
        self.offset = offset
        self.gradSlot = nil
    }

    public var dtype: DType { storage.dtype }
    public var rank: Int { shape.count }
    public var count: Int { Shape.count(shape) }

    /// Size of dimension `axis`; negative axes count from the end.
    public func dim(_ axis: Int) -> Int { shape[Shape.normalize(axis, rank: rank)] }

    /// True when elements are laid out densely in row-major order starting at `offset`.
    public var isContiguous: Bool { Shape.isContiguous(shape: shape, strides: strides) }

    /// Pointer to the first element (float32 storage). Valid while the tensor (its storage) is alive:
    /// use inside `withExtendedLifetime` when the tensor is not used afterwards.
    public var f32: UnsafeMutablePointer<Float> {
        precondition(dtype == .float32, "expected float32 storage, found \(dtype)")
        return storage.float32 + offset
    }
}

// MARK: - Creation

extension Tensor {
    /// Uninitialised float32 tensor (every element is written by the caller).
    public static func empty(_ shape: [Int], dtype: DType = .float32) -> Tensor {
        Tensor(storage: TensorStorage(dtype: dtype, count: Shape.count(shape)), shape: shape)
    }

    public static func full(_ shape: [Int], _ value: Float) -> Tensor {
        let t = empty(shape)
        t.f32.update(repeating: value, count: t.count)
        return t
    }

    public static func zeros(_ shape: [Int]) -> Tensor { full(shape, 0) }
    public static func ones(_ shape: [Int]) -> Tensor { full(shape, 1) }

    /// A rank-0 tensor.
    public init(_ value: Float) {
        self = Tensor.full([], value)
    }

    /// A tensor from row-major values; `values.count` must equal the shape's element count.
    public init(_ values: [Float], shape: [Int]) {
        precondition(values.count == Shape.count(shape),
                     "\(values.count) values do not fill shape \(shape) (\(Shape.count(shape)) elements)")
        let t = Tensor.empty(shape)
        values.withUnsafeBufferPointer { t.f32.update(from: $0.baseAddress!, count: values.count) }
        self = t
    }

    /// A 1-D tensor.
    public init(_ values: [Float]) { self.init(values, shape: [values.count]) }

    /// Integer values stored as int32 (token ids, labels, indices).
    public init(indices values: [Int], shape: [Int]? = nil) {
        let shape = shape ?? [values.count]
        precondition(values.count == Shape.count(shape), "\(values.count) indices do not fill shape \(shape)")
        let t = Tensor.empty(shape, dtype: .int32)
        let p = t.storage.base.assumingMemoryBound(to: Int32.self)
        for (i, v) in values.enumerated() { p[i] = Int32(truncatingIfNeeded: v) }
        self = t
    }
}

// MARK: - Reading values

extension Tensor {
    /// All elements in row-major order, converted to Float.
    public func toArray() -> [Float] {
        let c = self.toFloat32().contiguous()
        return withExtendedLifetime(c) { Array(UnsafeBufferPointer(start: c.f32, count: c.count)) }
    }

    /// Integer tensors (int32, int64, uint8) as [Int]; float tensors are truncated.
    public func toIntArray() -> [Int] {
        let c = contiguous()
        return withExtendedLifetime(c) {
            let n = c.count
            switch c.dtype {
            case .int32:
                let p = c.storage.base.assumingMemoryBound(to: Int32.self) + c.offset
                return (0..<n).map { Int(p[$0]) }
            case .int64:
                let p = c.storage.base.assumingMemoryBound(to: Int64.self) + c.offset
                return (0..<n).map { Int(p[$0]) }
            case .uint8:
                let p = c.storage.base.assumingMemoryBound(to: UInt8.self) + c.offset
                return (0..<n).map { Int(p[$0]) }
            case .int8:
                let p = c.storage.base.assumingMemoryBound(to: Int8.self) + c.offset
                return (0..<n).map { Int(p[$0]) }
            default:
                return c.toArray().map { Int($0) }
            }
        }
    }

    /// The single value of a one-element tensor.
    public func item() -> Float {
        precondition(count == 1, "item() needs exactly one element, shape is \(shape)")
        return toArray()[0]
    }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let values = count <= 16 ? toArray().map { "\($0)" }.joined(separator: ", ") : "…"
        return "Tensor(\(shape), \(dtype.rawValue)\(gradSlot != nil ? ", grad" : ""); [\(values)])"
    }
}
