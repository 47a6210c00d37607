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
            // dx = y ⊙ (g − Σ g·y)
            return Tensor.record(out, [x]) { g in
                [out.detached().zipRows(g, cols: cols) { y, dy, dx, n in VectorMath.softmaxRowsBackward(y, dy, dx, rows: n / cols, cols: cols) }]
            }
        }
    }

    /// x − log Σ exp(x) along `axis`.
    public func logSoftmax(axis: Int = -1) -> Tensor {
        alongLastAxis(axis) { x in
            let cols = x.dim(-1)
            let out = x.detached().mapRows(cols) { s, d, rows in VectorMath.logSoftmaxRows(s, d, rows: rows, cols: cols) }
            // dx = g − softmax(x)·Σ g
            return Tensor.record(out, [x]) { g in
                [out.detached().zipRows(g, cols: cols) { y, dy, dx, n in VectorMath.logSoftmaxRowsBackward(y, dy, dx, rows: n / cols, cols: cols) }]
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

