import Foundation
import LatteKernels

// Reductions over axes: sum, mean, max, logsumexp, argmax, variance.

extension Tensor {
    /// Views a dense tensor as [outer, n, inner] around `axis`.
    private func split3(_ axis: Int) -> (outer: Int, n: Int, inner: Int) {
        (shape[..<axis].reduce(1, *), shape[axis], shape[(axis + 1)...].reduce(1, *))
    }

    /// Reduces one axis with `row(x, n, stride) -> value` over a dense copy.
    private func reduceAxis(_ axis: Int, keepDims: Bool, _ combineRows: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int, Int) -> Void) -> Tensor {
        let x = toFloat32().contiguous()
        let (outer, n, inner) = x.split3(axis)
        var outShape = shape
        if keepDims { outShape[axis] = 1 } else { outShape.remove(at: axis) }
        let out = Tensor.empty(outShape)
        withExtendedLifetime(x) {
            let src = x.f32, dst = out.f32
            parallelRanges(outer, minChunk: Swift.max(1, (1 << 15) / Swift.max(n * inner, 1))) { s, e in
                for o in s..<e { combineRows(src + o * n * inner, dst + o * inner, n, inner) }
            }
        }
        return out
    }

    private func normalizedAxes(_ axes: [Int]?) -> [Int] {
        guard let axes else { return Array(0..<rank) }
        return Array(Set(axes.map { Shape.normalize($0, rank: rank) })).sorted()
    }

    /// Sum over `axes` (all when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        if rank == 0 { return self }
        var t = self.detached()
        for a in ax.reversed() {
            t = t.reduceAxis(a, keepDims: true) { src, dst, n, inner in
                if inner == 1 {
                    var s: Float = 0
                    for i in 0..<n { s += src[i] }
                    dst[0] = s
                } else {
                    dst.update(from: src, count: inner)
                    for i in 1..<Swift.max(n, 1) { let r = src + i * inner; for j in 0..<inner { dst[j] += r[j] } }
                    if n == 0 { dst.update(repeating: 0, count: inner) }
                }
            }
        }
        var outShape = shape
        for a in ax.reversed() { if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) } }
        let out = t.reshaped(outShape)
        let inShape = shape
        var keptShape = shape
        for a in ax { keptShape[a] = 1 }
        return Tensor.record(out, [self]) { g in [g.reshaped(keptShape).expanded(inShape).contiguous()] }
    }

    /// Mean over `axes` (all when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false) -> Tensor {
        let ax = normalizedAxes(axes)
        let n = ax.map { shape[$0] }.reduce(1, *)
        return sum(axes: ax, keepDims: keepDims).scaled(by: 1 / Float(Swift.max(n, 1)))
    }

    /// Maximum over one axis. The gradient goes to the (first) maximal element.
    public func max(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let out = reduceAxis(a, keepDims: keepDims) { src, dst, n, inner in
            for j in 0..<inner {
                var m = -Float.infinity
                for i in 0..<n { let v = src[i * inner + j]; if v > m || v.isNaN { m = v } }
                dst[j] = m
            }
        }
        let (x, inShape) = (detached(), shape)
        // Where the maximum sits is only needed for the gradient: found when backward runs.
        return Tensor.record(out, [self]) { g in
            let idx = x.argmax(axis: a, keepDims: true)
            return [Tensor.scatterAlong(axis: a, indices: idx, values: g.reshaped(idx.shape), shape: inShape)]
        }
    }

    /// Index of the maximum along one axis, as int32.
    public func argmax(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let x = toFloat32().contiguous()
        let (outer, n, inner) = x.split3(a)
        var outShape = shape
        if keepDims { outShape[a] = 1 } else { outShape.remove(at: a) }
        let out = Tensor.empty(outShape, dtype: .int32)
        let dst = out.storage.base.assumingMemoryBound(to: Int32.self)
        withExtendedLifetime(x) {
            for o in 0..<outer {
                for j in 0..<inner {
                    var best = 0
                    var m = -Float.infinity
                    for i in 0..<n {
                        let v = x.f32[(o * n + i) * inner + j]
                        if v > m || (v.isNaN && !m.isNaN) { m = v; best = i }
                    }
                    dst[o * inner + j] = Int32(best)
                }
            }
        }
        return out
    }

    /// log Σ exp over `axis`, computed stably around the maximum.
    public func logSumExp(axis: Int, keepDims: Bool = false) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        let m = withoutGradient { self.max(axis: a, keepDims: true) }
        let finiteM = m.mapUnary { s, d, n in for i in 0..<n { d[i] = s[i].isFinite ? s[i] : 0 } }
        let out = (self - finiteM).exp().sum(axes: [a], keepDims: true).log() + finiteM
        return keepDims ? out : out.squeezed(a)
    }

    /// Variance over `axes`, Σ(x − mean)² / (n − correction); correction 0 is the population variance.
    public func variance(axes: [Int]? = nil, keepDims: Bool = false, correction: Int = 0) -> Tensor {
        let ax = normalizedAxes(axes)
        let n = ax.map { shape[$0] }.reduce(1, *)
        let centered = self - self.mean(axes: ax, keepDims: true)
        return centered.pow(2).sum(axes: ax, keepDims: keepDims).scaled(by: 1 / Float(Swift.max(n - correction, 1)))
    }

    /// Places `values` at `indices` along `axis` in a zero tensor of `shape` (adding on collisions).
    static func scatterAlong(axis: Int, indices: Tensor, values: Tensor, shape: [Int]) -> Tensor {
        let out = Tensor.zeros(shape)
        let v = values.toFloat32().contiguous()
        let idx = indices.toIntArray()
        let outer = shape[..<axis].reduce(1, *), n = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        let k = indices.shape[axis]
        withExtendedLifetime(v) {
            for o in 0..<outer {
                for i in 0..<k {
                    for j in 0..<inner {
                        let src = (o * k + i) * inner + j
                        out.f32[(o * n + idx[src]) * inner + j] += v.f32[src]
                    }
                }
            }
        }
        return out
    }
}
