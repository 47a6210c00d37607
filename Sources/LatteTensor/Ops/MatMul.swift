import LatteKernels

// Matrix products on the GEMM kernel. Transposed views are passed to GEMM as transpose flags, so
// `x.matmul(w.T)` and the backward products never copy.

/// How a matrix (the last two dims of a tensor) is laid out in memory for GEMM.
private struct MatrixOperand {
    let tensor: Tensor         // keeps storage alive
    let transposed: Bool
    let ld: Int
    let batchStrides: [Int]    // strides of the leading (batch) dims

    init(_ t: Tensor) {
        var t = t.toFloat32()
        let r = t.rank
        let rows = t.shape[r - 2], cols = t.shape[r - 1]
        let sr = t.strides[r - 2], sc = t.strides[r - 1]
        if sc == 1 && (sr >= cols || rows == 1) {
            transposed = false; ld = Swift.max(sr, cols)
        } else if sr == 1 && (sc >= rows || cols == 1) {
            transposed = true; ld = Swift.max(sc, rows)
        } else {
            t = t.contiguous()
            transposed = false; ld = cols
        }
        tensor = t
        batchStrides = Array(t.strides[..<(r - 2)])
    }

    var pointer: UnsafePointer<Float> { UnsafePointer(tensor.f32) }
}

extension Tensor {
    /// Matrix product over the last two dimensions with broadcast batch dimensions
    /// ([…, m, k] · […, k, n] → […, m, n]); 1-D operands are treated as a row / column vector.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank >= 1 && other.rank >= 1, "matmul needs tensors of rank ≥ 1")
        if rank == 1 { return unsqueezed(0).matmul(other).squeezed(-2) }
        if other.rank == 1 { return matmul(other.unsqueezed(1)).squeezed(-1) }
        let m = shape[rank - 2], k = shape[rank - 1], n = other.shape[other.rank - 1]
        precondition(other.shape[other.rank - 2] == k, "matmul shapes \(shape) and \(other.shape) do not match (\(k) vs \(other.shape[other.rank - 2]))")

        let out: Tensor
        if other.rank == 2 && rank > 2 && isContiguous {
            // [B…, m, k] · [k, n]: one GEMM with all batch rows stacked.
            let rows = count / k
            out = Tensor.empty(Array(shape.dropLast()) + [n])
            let b = MatrixOperand(other)
            withExtendedLifetime((self, b.tensor)) {
                Gemm.sgemm(transposeA: false, transposeB: b.transposed, m: rows, n: n, k: k, alpha: 1,
                           a: f32, lda: k, b: b.pointer, ldb: b.ld, beta: 0, c: out.f32, ldc: n)
            }
        } else {
            let batchA = Array(shape.dropLast(2)), batchB = Array(other.shape.dropLast(2))
            let batch = Shape.broadcast(batchA, batchB)
            let a = MatrixOperand(self.expanded(batch + [m, k]))
            let b = MatrixOperand(other.expanded(batch + [k, n]))
            out = Tensor.empty(batch + [m, n])
            let count = Shape.count(batch)
            withExtendedLifetime((a.tensor, b.tensor)) {
                if let sa = Self.uniformStride(batch, a.batchStrides), let sb = Self.uniformStride(batch, b.batchStrides) {
                    Gemm.sgemmBatched(transposeA: a.transposed, transposeB: b.transposed, m: m, n: n, k: k, alpha: 1,
                                      a: a.pointer, lda: a.ld, strideA: sa, b: b.pointer, ldb: b.ld, strideB: sb,
                                      beta: 0, c: out.f32, ldc: n, strideC: m * n, batch: count)
                } else {
                    for i in 0..<count {
                        let oa = Self.offset(i, batch, a.batchStrides), ob = Self.offset(i, batch, b.batchStrides)
                        Gemm.sgemm(transposeA: a.transposed, transposeB: b.transposed, m: m, n: n, k: k, alpha: 1,
                                   a: a.pointer + oa, lda: a.ld, b: b.pointer + ob, ldb: b.ld,
                                   beta: 0, c: out.f32 + i * m * n, ldc: n)
                    }
                }
            }
        }
        let (x, y) = (self.detached(), other.detached())
        return Tensor.record(out, [self, other]) { g in
            // dA = G·Bᵀ, dB = Aᵀ·G, each summed over the batch dims it was broadcast along.
            var ga: Tensor? = nil, gb: Tensor? = nil
            if self.gradSlot != nil { ga = g.matmul(y.transposed()).summed(toShape: x.shape) }
            if other.gradSlot != nil {
                if y.rank == 2 && x.rank > 2 {
                    gb = x.reshaped([-1, k]).transposed().matmul(g.reshaped([-1, n]))
                } else {
                    gb = x.transposed().matmul(g).summed(toShape: y.shape)
                }
            }
            return [ga, gb]
        }
    }

    /// The single stride between consecutive batch items when the batch dims are evenly spaced.
    static func uniformStride(_ batch: [Int], _ strides: [Int]) -> Int? {
        let dims = zip(batch, strides).filter { $0.0 != 1 }
        if dims.isEmpty { return 0 }
        let innermost = dims.last!.1
        var expected = innermost
        for (size, stride) in dims.reversed() {
            if stride != expected { return nil }
            expected = stride * size
        }
        if innermost == 0 { return dims.allSatisfy { $0.1 == 0 } ? 0 : nil }
        return innermost
    }

    static func offset(_ linear: Int, _ batch: [Int], _ strides: [Int]) -> Int {
        var rem = linear, off = 0
        for d in stride(from: batch.count - 1, through: 0, by: -1) {
            off += (rem % batch[d]) * strides[d]
            rem /= batch[d]
        }
        return off
    }
}

// MARK: - Linear

extension Tensor {
    /// The output […, features] of a linear layer on x before its product, and the GEMM's beta: the bias
    /// copied into every row (beta 1, the product accumulated onto it) or nothing (beta 0). Every weight
    /// layout (plain, pre-packed) starts this way, so their sums run in one order and agree bit for bit.
    public static func linearOutput(_ x: Tensor, features: Int, bias: Tensor?, layer: String) -> (out: Tensor, beta: Float) {
        let out = Tensor.empty(Array(x.shape.dropLast()) + [features])
        guard let bias else { return (out, 0) }
        let b = bias.detached().toFloat32().contiguous()
        precondition(b.count == features, "\(layer): bias has \(b.count) values, expected \(features)")
        let rows = out.count / Swift.max(features, 1)
        withExtendedLifetime(b) { for r in 0..<rows { (out.f32 + r * features).update(from: b.f32, count: features) } }
        return (out, 1)
    }

    /// y = x·Wᵀ + b with W stored [out, in] as checkpoints store it; x is […, in].
    public static func linear(_ x: Tensor, weight: Tensor, bias: Tensor? = nil) -> Tensor {
        let inF = weight.shape[1], outF = weight.shape[0]
        precondition(x.dim(-1) == inF, "linear: input has \(x.dim(-1)) features, weight \(weight.shape) expects \(inF)")
        let xc = x.toFloat32().contiguous()
        let w = MatrixOperand(weight)
        let rows = xc.count / inF
        let (out, beta) = linearOutput(x, features: outF, bias: bias, layer: "linear")
        withExtendedLifetime((xc, w.tensor)) {
            // Weight [out, in] row-major is Wᵀ transposed: op(B) = Wᵀ.
            Gemm.sgemm(transposeA: false, transposeB: !w.transposed, m: rows, n: outF, k: inF, alpha: 1,
                       a: xc.f32, lda: inF, b: w.pointer, ldb: w.ld, beta: beta, c: out.f32, ldc: outF)
        }
        let (xd, wd) = (xc.detached(), weight.detached())
        var inputs = [x, weight]
        if let bias { inputs.append(bias) }
        return Tensor.record(out, inputs) { g in
            let g2 = g.reshaped([rows, outF])
            let gx = x.gradSlot == nil ? nil : g2.matmul(wd.toFloat32()).reshaped(x.shape)
            let gw = weight.gradSlot == nil ? nil : g2.transposed().matmul(xd.reshaped([rows, inF]))
            var grads: [Tensor?] = [gx, gw]
            if let bias { grads.append(bias.gradSlot == nil ? nil : g2.sum(axes: [0]).reshaped(bias.shape)) }
            return grads
        }
    }
}
