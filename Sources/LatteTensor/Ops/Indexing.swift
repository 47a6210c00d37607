// Joining, splitting and gathering.

extension Tensor {
    /// Joins tensors along `axis` (all other dimensions equal).
    public static func concat(_ tensors: [Tensor], axis: Int) -> Tensor {
        precondition(!tensors.isEmpty, "concat of no tensors")
        let first = tensors[0]
        let a = Shape.normalize(axis, rank: first.rank)
        var outShape = first.shape
        outShape[a] = tensors.reduce(0) { $0 + $1.shape[a] }
        for t in tensors {
            precondition(t.rank == first.rank && (0..<first.rank).allSatisfy { $0 == a || t.shape[$0] == first.shape[$0] },
                         "concat: shapes \(tensors.map(\.shape)) differ outside axis \(a)")
        }
        let out = Tensor.empty(outShape)
        let outer = outShape[..<a].reduce(1, *), inner = outShape[(a + 1)...].reduce(1, *)
        var start = 0
        for t in tensors {
            let tc = t.toFloat32().contiguous()
            let len = t.shape[a] * inner
            withExtendedLifetime(tc) {
                for o in 0..<outer { (out.f32 + o * outShape[a] * inner + start * inner).update(from: tc.f32 + o * len, count: len) }
            }
            start += t.shape[a]
        }
        let sizes = tensors.map { $0.shape[a] }
        return Tensor.record(out, tensors) { g in
            var s = 0
            return sizes.map { n in defer { s += n }; return g.sliced(axis: a, s..<(s + n)).contiguous() }
        }
    }

    /// Splits along `axis` into pieces of the given sizes (views).
    public func split(sizes: [Int], axis: Int) -> [Tensor] {
        let a = Shape.normalize(axis, rank: rank)
        precondition(sizes.reduce(0, +) == shape[a], "split sizes \(sizes) do not add up to \(shape[a])")
        var s = 0
        return sizes.map { n in defer { s += n }; return sliced(axis: a, s..<(s + n)) }
    }

    /// Splits into `parts` equal pieces along `axis`.
    public func chunked(_ parts: Int, axis: Int) -> [Tensor] {
        let a = Shape.normalize(axis, rank: rank)
        precondition(shape[a] % parts == 0, "cannot chunk size \(shape[a]) into \(parts)")
        return split(sizes: [Int](repeating: shape[a] / parts, count: parts), axis: a)
    }

    /// Rows of `table` [V, D] picked by integer `indices` of any shape → [indices…, D].
    public static func embedding(_ indices: Tensor, table: Tensor) -> Tensor {
        table.indexSelect(axis: 0, indices: indices)
    }

    /// Slices of self picked along `axis` by integer `indices` (any shape; they replace that axis).
    public func indexSelect(axis: Int, indices: Tensor) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let idx = indices.toIntArray()
        let n = shape[a]
        for i in idx { precondition(i >= 0 && i < n, "index \(i) out of range 0..<\(n) on axis \(a)") }
        let x = toFloat32().contiguous()
        let outer = shape[..<a].reduce(1, *), inner = shape[(a + 1)...].reduce(1, *)
        let outShape = Array(shape[..<a]) + indices.shape + Array(shape[(a + 1)...])
        let out = Tensor.empty(outShape)
        withExtendedLifetime(x) {
            for o in 0..<outer {
                for (k, i) in idx.enumerated() {
                    (out.f32 + (o * idx.count + k) * inner).update(from: x.f32 + (o * n + i) * inner, count: inner)
                }
            }
        }
        let inShape = shape
        return Tensor.record(out, [self]) { g in
            // Scatter-add the rows back (repeated indices accumulate).
            let gc = g.contiguous()
            let gx = Tensor.zeros(inShape)
            withExtendedLifetime(gc) {
                for o in 0..<outer {
                    for (k, i) in idx.enumerated() {
                        let src = gc.f32 + (o * idx.count + k) * inner, dst = gx.f32 + (o * n + i) * inner
                        for j in 0..<inner { dst[j] += src[j] }
                    }
                }
            }
            return [gx]
        }
    }
}
