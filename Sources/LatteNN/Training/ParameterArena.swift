import LatteTensor

/// The trainable parameters of a model packed into one contiguous float32 buffer, with a gradient
/// buffer of the same layout (as llm.c keeps its parameters and gradients).
///
/// After packing, each trainable parameter's tensor is a view into `values`, so zeroing gradients,
/// clipping, optimiser updates and EMA are each one loop over one buffer. Frozen parameters are not
/// packed: they keep their own storage (possibly bf16 or memory-mapped) and have no gradient space.
/// Every entry starts on a 64-byte boundary; the padding between entries stays zero in every buffer.
///
/// Freezing or unfreezing a packed parameter makes the arena stale (optimisers refuse to step);
/// pack again after changing what is trainable.
public final class ParameterArena {
    public struct Entry {
        public let key: String
        public let parameter: Parameter
        /// Offset of the parameter's first value, in floats.
        public let offset: Int
        public var count: Int { parameter.count }
        public var shape: [Int] { parameter.shape }
    }

    public let entries: [Entry]
    /// Total floats, padding included.
    public let count: Int
    let valueStorage: TensorStorage
    let gradientStorage: TensorStorage
    let indexBySlot: [ObjectIdentifier: Int]
    public private(set) var staleReason: String?

    /// Floats per alignment unit (64 bytes).
    static let alignment = 16

    /// Packs the trainable parameters of `module` (tied weights once), copying their current values.
    public init(packing module: Module) {
        var entries: [Entry] = []
        var offset = 0
        for (key, p) in module.uniqueParameters() where p.isTrainable {
            precondition(p.arena == nil, "parameter '\(key)' is already packed in another arena")
            entries.append(Entry(key: key, parameter: p, offset: offset))
            offset += (p.count + Self.alignment - 1) / Self.alignment * Self.alignment
        }
        self.entries = entries
        self.count = offset
        valueStorage = TensorStorage(dtype: .float32, count: offset)
        gradientStorage = TensorStorage(dtype: .float32, count: offset)
        valueStorage.float32.update(repeating: 0, count: offset)
        gradientStorage.float32.update(repeating: 0, count: offset)
        var index: [ObjectIdentifier: Int] = [:]
        for (i, e) in entries.enumerated() { index[ObjectIdentifier(e.parameter.slot)] = i }
        indexBySlot = index
        for e in entries {
            let src = e.parameter.value.toFloat32().contiguous()
            withExtendedLifetime(src) { (valueStorage.float32 + e.offset).update(from: src.f32, count: e.count) }
            e.parameter.bind(to: Tensor(storage: valueStorage, shape: e.shape, offset: e.offset), arena: self)
        }
    }

    public var valuePointer: UnsafeMutablePointer<Float> { valueStorage.float32 }
    public var gradientPointer: UnsafeMutablePointer<Float> { gradientStorage.float32 }

    /// All values as one 1-D tensor (a view; padding included).
    public var values: Tensor { Tensor(storage: valueStorage, shape: [count]) }
    /// All gradients as one 1-D tensor (a view; padding included).
    public var gradients: Tensor { Tensor(storage: gradientStorage, shape: [count]) }

    /// The gradient of one entry as a view shaped like its parameter.
    public func gradient(_ entry: Entry) -> Tensor { Tensor(storage: gradientStorage, shape: entry.shape, offset: entry.offset) }

    /// The gradient view of the parameter packed under `key`, if any.
    public func gradient(forKey key: String) -> Tensor? { entries.first { $0.key == key }.map(gradient) }

    /// Whether `parameter` is packed here.
    public func contains(_ parameter: Parameter) -> Bool { indexBySlot[ObjectIdentifier(parameter.slot)] != nil }

    public func zeroGradients() { gradientStorage.float32.update(repeating: 0, count: count) }

    func markStale(reason: String) { staleReason = staleReason ?? reason }

    /// Stops with a clear message when the arena no longer matches what is trainable.
    func checkCurrent(_ caller: String) {
        if let staleReason { preconditionFailure("\(caller): the parameter arena is stale (\(staleReason)); pack the model again") }
    }

    /// Adds a gradient tensor (any layout) into entry `index`'s gradient region.
    func accumulate(_ g: Tensor, into index: Int) {
        let e = entries[index]
        precondition(g.shape == e.shape, "gradient of '\(e.key)' has shape \(g.shape), parameter has \(e.shape)")
        let gc = g.toFloat32().contiguous()
        withExtendedLifetime(gc) {
            let src = UnsafePointer(gc.f32), dst = gradientStorage.float32 + e.offset
            for i in 0..<e.count { dst[i] += src[i] }
        }
    }
}

extension Module {
    /// Packs this module's trainable parameters into a new arena (see `ParameterArena`).
    public func packParameters() -> ParameterArena { ParameterArena(packing: self) }
}
