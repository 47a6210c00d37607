/// Views: reshape, permute, transpose, slice, expand, squeeze/unsqueeze; and the copies that make a
/// view dense again. Views share storage and cost nothing; their gradients route back through the
/// inverse view.
extension Tensor {
    /// A dense row-major copy, or self when already dense.
    public func contiguous() -> Tensor {
        if isContiguous { return self }
        let out = Tensor.empty(shape, dtype: dtype)
        let size = dtype.size
        withExtendedLifetime(self) {
            StridedCopy.gather(shape: shape, srcStrides: strides,
                               src: UnsafeRawPointer(storage.base + offset * size), dst: out.storage.base, elementSize: size)
        }
        return Tensor.record(out, [self]) { g in [g] }
    }

    /// Same elements with another shape; one dimension may be -1. Copies only when the layout demands.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var newShape = newShape
        if let i = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != i }.map(\.element).reduce(1, *)
            precondition(known > 0 && count % known == 0, "cannot reshape \(shape) to \(newShape)")
            newShape[i] = count / known
        }
        precondition(Shape.count(newShape) == count, "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        if newShape == shape { return self }
        let base = contiguous()
        var out = Tensor(storage: base.storage, shape: newShape, offset: base.offset)
        out.gradSlot = nil
        let inShape = shape
        return Tensor.record(out, [base]) { g in [g.reshaped(inShape)] }
    }

    /// Flattens dimensions start...end into one.
    public func flattened(from start: Int = 0, to end: Int = -1) -> Tensor {
        let s = Shape.normalize(start, rank: rank), e = Shape.normalize(end, rank: rank)
        let merged = shape[s...e].reduce(1, *)
        return reshaped(Array(shape[..<s]) + [merged] + Array(shape[(e + 1)...]))
    }

    /// Reorders dimensions: result dimension i is input dimension `order[i]`.
    public func permuted(_ order: [Int]) -> Tensor {
        precondition(order.count == rank && Set(order) == Set(0..<rank), "bad permutation \(order) for rank \(rank)")
        let out = Tensor(storage: storage, shape: order.map { shape[$0] }, strides: order.map { strides[$0] }, offset: offset)
        var inverse = [Int](repeating: 0, count: rank)
        for (i, o) in order.enumerated() { inverse[o] = i }
        return Tensor.record(out, [self]) { g in [g.permuted(inverse)] }
    }

    /// Swaps two dimensions (default: the last two).
    public func transposed(_ a: Int = -2, _ b: Int = -1) -> Tensor {
        var order = Array(0..<rank)
        order.swapAt(Shape.normalize(a, rank: rank), Shape.normalize(b, rank: rank))
        return permuted(order)
    }

    /// The transpose of a matrix (last two dimensions).
    public var T: Tensor { transposed() }

    /// Elements start..<end (step 1) along `axis`.
    public func sliced(axis: Int, _ range: Range<Int>) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        precondition(range.lowerBound >= 0 && range.upperBound <= shape[a], "slice \(range) out of bounds for axis \(a) of size \(shape[a])")
        var newShape = shape
        newShape[a] = range.count
        let out = Tensor(storage: storage, shape: newShape, strides: strides, offset: offset + range.lowerBound * strides[a])
        let inShape = shape
        return Tensor.record(out, [self]) { g in [g.padded(axis: a, before: range.lowerBound, after: inShape[a] - range.upperBound)] }
    }

    /// Zero padding along one axis (the adjoint of `sliced`).
    public func padded(axis: Int, before: Int, after: Int) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        var newShape = shape
        newShape[a] += before + after
        let out = Tensor.zeros(newShape)
        let src = self.toFloat32().contiguous()
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        withExtendedLifetime(src) {
            for o in 0..<outer {
                (out.f32 + (o * newShape[a] + before) * inner).update(from: src.f32 + o * shape[a] * inner, count: shape[a] * inner)
            }
        }
        return Tensor.record(out, [self]) { g in [g.sliced(axis: a, before..<(before + self.shape[a]))] }
    }

    /// Broadcasts size-1 dimensions (and new leading dimensions) to `newShape` without copying.
    public func expanded(_ newShape: [Int]) -> Tensor {
        precondition(newShape.count >= rank, "cannot expand \(shape) to fewer dimensions \(newShape)")
        let lead = newShape.count - rank
        var newStrides = [Int](repeating: 0, count: newShape.count)
        for i in 0..<rank {
            let target = newShape[lead + i]
            precondition(shape[i] == target || shape[i] == 1, "cannot expand \(shape) to \(newShape)")
            newStrides[lead + i] = shape[i] == target ? strides[i] : 0
        }
        if newShape == shape { return self }
        let out = Tensor(storage: storage, shape: newShape, strides: newStrides, offset: offset)
        let inShape = shape
        return Tensor.record(out, [self]) { g in [g.summed(toShape: inShape)] }
    }

    /// Inserts a size-1 dimension at `axis`.
    public func unsqueezed(_ axis: Int) -> Tensor {
        let a = axis < 0 ? axis + rank + 1 : axis
        var s = shape
        s.insert(1, at: a)
        return reshaped(s)
    }

    /// Removes size-1 dimension `axis`.
    public func squeezed(_ axis: Int) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        precondition(shape[a] == 1, "cannot squeeze axis \(a) of size \(shape[a])")
        var s = shape
        s.remove(at: a)
        return reshaped(s)
    }

    /// Sums broadcast dimensions away so the result has `target` shape (the adjoint of broadcasting).
    public func summed(toShape target: [Int]) -> Tensor {
        if shape == target { return self }
        var t = self
        let lead = rank - target.count
        precondition(lead >= 0, "cannot sum \(shape) to \(target)")
        if lead > 0 { t = t.reshaped([shape[..<lead].reduce(1, *)] + Array(shape[lead...])).sum(axes: [0]) }
        let axes = (0..<target.count).filter { target[$0] == 1 && t.shape[$0] != 1 }
        if !axes.isEmpty { t = t.sum(axes: axes, keepDims: true) }
        return t.reshaped(target)
    }
}

// MARK: - Type conversion

extension Tensor {
    /// Converts to float32 (no copy when already float32). Gradients pass through unchanged.
    public func toFloat32() -> Tensor { to(.float32) }

    /// Converts element type (copying). Rounds to nearest even for the half formats.
    public func to(_ target: DType) -> Tensor {
        if target == dtype { return self }
        let src = contiguous()
        let out = Tensor.empty(shape, dtype: target)
        let n = count
        withExtendedLifetime(src) {
            let s = src.storage.base + src.offset * src.dtype.size
            let f = UnsafeMutablePointer<Float>.allocate(capacity: target == .float32 ? 0 : n)
            defer { f.deallocate() }
            let asFloat: UnsafeMutablePointer<Float> = target == .float32 ? out.f32 : f
            // First to float32 …
            switch src.dtype {
            case .float32: asFloat.update(from: s.assumingMemoryBound(to: Float.self), count: n)
            case .float16: HalfConversion.widenFloat16(s.assumingMemoryBound(to: UInt16.self), count: n, into: asFloat)
            case .bfloat16:
                // bf16 is the top half of a float32: a shift, written on the bits so it vectorises.
                let p = s.assumingMemoryBound(to: UInt16.self)
                let bits = UnsafeMutableRawPointer(asFloat).assumingMemoryBound(to: UInt32.self)
                for i in 0..<n { bits[i] = UInt32(p[i]) << 16 }
            case .int32:
                let p = s.assumingMemoryBound(to: Int32.self)
                for i in 0..<n { asFloat[i] = Float(p[i]) }
            case .int64:
                let p = s.assumingMemoryBound(to: Int64.self)
                for i in 0..<n { asFloat[i] = Float(p[i]) }
            case .uint8:
                let p = s.assumingMemoryBound(to: UInt8.self)
                for i in 0..<n { asFloat[i] = Float(p[i]) }
            case .int8:
                let p = s.assumingMemoryBound(to: Int8.self)
                for i in 0..<n { asFloat[i] = Float(p[i]) }
            }
            // … then to the target.
            let d = out.storage.base
            switch target {
            case .float32: break
            case .float16:
                let p = d.assumingMemoryBound(to: UInt16.self)
                for i in 0..<n { p[i] = HalfConversion.float16Bits(asFloat[i]) }
            case .bfloat16:
                let p = d.assumingMemoryBound(to: UInt16.self)
                for i in 0..<n { p[i] = HalfConversion.bfloat16Bits(asFloat[i]) }
            case .int32:
                let p = d.assumingMemoryBound(to: Int32.self)
                for i in 0..<n { p[i] = Int32(asFloat[i]) }
            case .int64:
                let p = d.assumingMemoryBound(to: Int64.self)
                for i in 0..<n { p[i] = Int64(asFloat[i]) }
            case .uint8:
                let p = d.assumingMemoryBound(to: UInt8.self)
                for i in 0..<n { p[i] = UInt8(Swift.max(0, Swift.min(255, asFloat[i]))) }
            case .int8:
                let p = d.assumingMemoryBound(to: Int8.self)
                for i in 0..<n { p[i] = Int8(Swift.max(-128, Swift.min(127, asFloat[i].rounded()))) }
            }
        }
        let sourceType = dtype
        return Tensor.record(out, [self]) { g in [sourceType.isFloatingPoint ? g.to(sourceType == .float32 ? .float32 : .float32) : nil] }
    }
}
