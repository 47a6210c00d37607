import Foundation
import LatteKernels

// Softmax and log-softmax along an axis (the last one is the fast path).

extension Tensor {
    /// Moves `axis` last, applies a row kernel over dense rows, moves it back.
    private func alongLastAxis(_ axis: Int, _ body: (Tensor) -> Tensor) -> Tensor {
        let a = Shape.normalize(axis, rank: rank)
        if a == rank - 1 { return body(self) }
        return body(transposed(a, -1)).transposed(a, -1)
    }

    /// exp(x) / Σ exp(x) along `axis`. A row of all −∞ gives zeros.
    public func softmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { x in
            let cols = x.dim(-1)
            let out = x.detached().mapRows(cols) { s, d, r in VectorMath.softmaxRows(s, d, rows: r, cols: cols) }
            return Tensor.record(out, [x]) { g in
                // dx = y ⊙ (g − Σ g·y)
                let y = out.detached()
                return [y.multiplying(g.subtracting(g.multiplying(y).sum(axes: [-1], keepDims: true)))]
            }
        }
    }

    /// x − log Σ exp(x) along `axis`.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { x in
            let cols = x.dim(-1)
            let out = x.detached().mapRows(cols) { s, d, rows in
                for r in 0..<rows {
                    let sr = s + r * cols, dr = d + r * cols
                    var m = -Float.infinity
                    for j in 0..<cols { m = Swift.max(m, sr[j]) }
                    if !m.isFinite { for j in 0..<cols { dr[j] = sr[j] - m }; continue }
                    var sum: Float = 0
                    for j in 0..<cols { dr[j] = sr[j] - m }
                    VectorMath.exp(UnsafePointer(dr), dr, cols)
                    for j in 0..<cols { sum += dr[j] }
                    let lse = m + Foundation.log(sum)
                    for j in 0..<cols { dr[j] = sr[j] - lse }
                }
            }
            return Tensor.record(out, [x]) { g in
                // dx = g − softmax(x)·Σ g
                let p = out.detached().exp()
                return [g.subtracting(p.multiplying(g.sum(axes: [-1], keepDims: true)))]
            }
        }
    }

    /// Applies `kernel(src, dst, rows)` to dense rows of `cols` values (parallel over rows).
    func mapRows(_ cols: Int, _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let x = toFloat32().contiguous()
        let out = Tensor.empty(shape)
        let rows = count / Swift.max(cols, 1)
        withExtendedLifetime(x) {
            let s = UnsafePointer(x.f32), d = out.f32
            parallelRanges(rows, minChunk: Swift.max(1, 8192 / Swift.max(cols, 1))) { a, b in kernel(s + a * cols, d + a * cols, b - a) }
        }
        return out
    }
}

