import Foundation
import LatteKernels

// Element-wise arithmetic with NumPy broadcasting, and unary functions. Each op states its
// derivative next to its forward computation.

// MARK: - Kernel plumbing

extension Tensor {
    /// Applies `kernel(x, other, dst, n)` to dense copies of two same-shape tensors, in chunks of
    /// whole rows of `cols` values (cols 1: any chunking), in parallel.
    func zipRows(_ other: Tensor, cols: Int = 1, _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        precondition(shape == other.shape, "shapes \(shape) and \(other.shape) differ")
        let a = toFloat32().contiguous(), b = other.toFloat32().contiguous()
        let out = Tensor.empty(shape)
        let rows = count / Swift.max(cols, 1)
        withExtendedLifetime((a, b)) {
            let pa = UnsafePointer(a.f32), pb = UnsafePointer(b.f32), dst = out.f32
            parallelRanges(rows, minChunk: Swift.max(1, (1 << 15) / Swift.max(cols, 1))) { s, e in
                kernel(pa + s * cols, pb + s * cols, dst + s * cols, (e - s) * cols)
            }
        }
        return out
    }

    /// Applies `kernel(src, dst, n)` to a dense float32 copy of self (parallel over chunks).
    func mapUnary(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void) -> Tensor {
        let x = toFloat32().contiguous()
        let out = Tensor.empty(shape)
        withExtendedLifetime(x) {
            let src = x.f32, dst = out.f32
            parallelRanges(count) { s, e in kernel(src + s, dst + s, e - s) }
        }
        return out
    }
}

/// How the two operands of a binary op line up with the output.
private enum BinaryLayout {
    case same            // both dense, same shape
    case scalarB         // b has one element
    case scalarA
    case rowB(Int)       // a dense of the output shape, b dense repeating every `inner` elements
    case rowA(Int)
    case general
}

private func layout(_ a: Tensor, _ b: Tensor, _ out: [Int]) -> BinaryLayout {
    if a.shape == b.shape && a.isContiguous && b.isContiguous { return .same }
    if b.count == 1 && a.shape == out && a.isContiguous { return .scalarB }
    if a.count == 1 && b.shape == out && b.isContiguous { return .scalarA }
    func trailing(_ small: Tensor) -> Int? {
        // `small`'s shape (without leading 1s) is a suffix of `out`.
        var s = small.shape
        while s.first == 1 && s.count > 1 { s.removeFirst() }
        guard small.isContiguous, s.count <= out.count, Array(out.suffix(s.count)) == s else { return nil }
        return Shape.count(s)
    }
    if a.shape == out && a.isContiguous, let inner = trailing(b) { return .rowB(inner) }
    if b.shape == out && b.isContiguous, let inner = trailing(a) { return .rowA(inner) }
    return .general
}

/// Runs a binary float kernel over broadcast operands.
/// `kernel(a, strideA, b, strideB, out, n)`: stride 0 repeats a single value.
private func broadcastBinary(
    _ a: Tensor, _ b: Tensor,
    _ kernel: (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void
) -> Tensor {
    var a = a.toFloat32(), b = b.toFloat32()
    let outShape = Shape.broadcast(a.shape, b.shape)
    let out = Tensor.empty(outShape)
    let n = out.count
    var lay = layout(a, b, outShape)
    if case .general = lay {
        a = a.expanded(outShape).contiguous()
        b = b.expanded(outShape).contiguous()
        lay = .same
    }
    withExtendedLifetime((a, b)) {
        let pa = UnsafePointer(a.f32), pb = UnsafePointer(b.f32), po = out.f32
        switch lay {
        case .same: parallelRanges(n) { s, e in kernel(pa + s, 1, pb + s, 1, po + s, e - s) }
        case .scalarB: parallelRanges(n) { s, e in kernel(pa + s, 1, pb, 0, po + s, e - s) }
        case .scalarA: parallelRanges(n) { s, e in kernel(pa, 0, pb + s, 1, po + s, e - s) }
        case .rowB(let inner):
            let rows = n / inner
            parallelRanges(rows, minChunk: Swift.max(1, (1 << 15) / Swift.max(inner, 1))) { s, e in
                for r in s..<e { kernel(pa + r * inner, 1, pb, 1, po + r * inner, inner) }
            }
        case .rowA(let inner):
            let rows = n / inner
            parallelRanges(rows, minChunk: Swift.max(1, (1 << 15) / Swift.max(inner, 1))) { s, e in
                for r in s..<e { kernel(pa, 1, pb + r * inner, 1, po + r * inner, inner) }
            }
        case .general: fatalError("unreachable")
        }
    }
    return out
}

@inline(__always)
private func binaryLoop(_ op: @escaping (Float, Float) -> Float)
    -> (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void {
    return { a, sa, b, sb, o, n in
        if sa == 1 && sb == 1 { for i in 0..<n { o[i] = op(a[i], b[i]) } }
        else if sb == 0 { let bv = b[0]; for i in 0..<n { o[i] = op(a[i], bv) } }
        else { let av = a[0]; for i in 0..<n { o[i] = op(av, b[i]) } }
    }
}

/// Uses the SIMD kernel when both operands advance element by element, else the scalar loop.
private func vectorLoop(
    _ scalar: @escaping (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void,
    _ vector: @escaping (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
) -> (UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int) -> Void {
    return { a, sa, b, sb, o, n in
        if sa == 1 && sb == 1 { vector(a, b, o, n) } else { scalar(a, sa, b, sb, o, n) }
    }
}

// MARK: - Binary arithmetic

extension Tensor {
    public func adding(_ other: Tensor) -> Tensor {
        let out = broadcastBinary(self, other, vectorLoop(binaryLoop(+)) { VectorMath.add($0, $1, $2, $3) })
        let (sa, sb) = (shape, other.shape)
        return Tensor.record(out, [self, other]) { g in [g.summed(toShape: sa), g.summed(toShape: sb)] }
    }

    public func subtracting(_ other: Tensor) -> Tensor {
        let out = broadcastBinary(self, other, vectorLoop(binaryLoop(-)) { VectorMath.sub($0, $1, $2, $3) })
        let (sa, sb) = (shape, other.shape)
        return Tensor.record(out, [self, other]) { g in [g.summed(toShape: sa), g.negated().summed(toShape: sb)] }
    }

    public func multiplying(_ other: Tensor) -> Tensor {
        let out = broadcastBinary(self, other, vectorLoop(binaryLoop(*)) { VectorMath.mul($0, $1, $2, $3) })
        let (a, b) = (self.detached(), other.detached())
        return Tensor.record(out, [self, other]) { g in
            [self.gradSlot == nil ? nil : g.multiplying(b).summed(toShape: a.shape),
             other.gradSlot == nil ? nil : g.multiplying(a).summed(toShape: b.shape)]
        }
    }

    public func dividing(_ other: Tensor) -> Tensor {
        let out = broadcastBinary(self, other, binaryLoop(/))
        let (a, b) = (self.detached(), other.detached())
        return Tensor.record(out, [self, other]) { g in
            [self.gradSlot == nil ? nil : g.dividing(b).summed(toShape: a.shape),
             other.gradSlot == nil ? nil : g.multiplying(out.detached()).dividing(b).negated().summed(toShape: b.shape)]
        }
    }

    /// Element-wise power with a broadcast exponent tensor.
    public func pow(_ exponent: Tensor) -> Tensor {
        let out = broadcastBinary(self, exponent, binaryLoop { Foundation.pow($0, $1) })
        let (a, b, y) = (self.detached(), exponent.detached(), out)
        return Tensor.record(out, [self, exponent]) { g in
            // d/da a^b = b·a^(b−1);  d/db a^b = a^b·ln a
            [self.gradSlot == nil ? nil : g.multiplying(b.multiplying(a.pow(b.subtracting(Tensor(1))))).summed(toShape: a.shape),
             exponent.gradSlot == nil ? nil : g.multiplying(y.multiplying(a.log())).summed(toShape: b.shape)]
        }
    }

    /// Element-wise power with a scalar exponent.
    public func pow(_ exponent: Float) -> Tensor {
        let out: Tensor
        if exponent == 2 { out = mapUnary { s, d, n in for i in 0..<n { d[i] = s[i] * s[i] } } }
        else { out = mapUnary { s, d, n in for i in 0..<n { d[i] = Foundation.pow(s[i], exponent) } } }
        let x = detached()
        return Tensor.record(out, [self]) { g in [g.multiplying(x.pow(exponent - 1).scaled(by: exponent))] }
    }

    /// Multiplies by a constant.
    public func scaled(by s: Float) -> Tensor {
        let out = mapUnary { src, dst, n in VectorMath.scale(s, src, dst, n) }
        return Tensor.record(out, [self]) { g in [g.scaled(by: s)] }
    }

    /// Adds a constant.
    public func shifted(by s: Float) -> Tensor {
        let out = mapUnary { src, dst, n in for i in 0..<n { dst[i] = src[i] + s } }
        return Tensor.record(out, [self]) { g in [g] }
    }

    public func negated() -> Tensor { scaled(by: -1) }

    public static func + (a: Tensor, b: Tensor) -> Tensor { a.adding(b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { a.subtracting(b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { a.multiplying(b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { a.dividing(b) }
    public static prefix func - (a: Tensor) -> Tensor { a.negated() }
    public static func + (a: Tensor, b: Float) -> Tensor { a.shifted(by: b) }
    public static func - (a: Tensor, b: Float) -> Tensor { a.shifted(by: -b) }
    public static func * (a: Tensor, b: Float) -> Tensor { a.scaled(by: b) }
    public static func / (a: Tensor, b: Float) -> Tensor { a.scaled(by: 1 / b) }
    public static func * (a: Float, b: Tensor) -> Tensor { b.scaled(by: a) }
    public static func + (a: Float, b: Tensor) -> Tensor { b.shifted(by: a) }
    public static func - (a: Float, b: Tensor) -> Tensor { b.negated().shifted(by: a) }
}

// MARK: - Unary functions

extension Tensor {
    public func exp() -> Tensor {
        let out = mapUnary { VectorMath.exp($0, $1, $2) }
        return Tensor.record(out, [self]) { g in [g.multiplying(out.detached())] }
    }

    public func log() -> Tensor {
        let out = mapUnary { VectorMath.log($0, $1, $2) }
        let x = detached()
        return Tensor.record(out, [self]) { g in [g.dividing(x)] }
    }

    public func sqrt() -> Tensor {
        let out = mapUnary { s, d, n in for i in 0..<n { d[i] = s[i].squareRoot() } }
        return Tensor.record(out, [self]) { g in [g.dividing(out.detached().scaled(by: 2))] }
    }

    /// 1/√x
    public func rsqrt() -> Tensor {
        let out = mapUnary { s, d, n in for i in 0..<n { d[i] = 1 / s[i].squareRoot() } }
        let x = detached()
        // d/dx x^(−1/2) = −½ x^(−3/2) = −½ · y / x
        return Tensor.record(out, [self]) { g in [g.multiplying(out.detached()).dividing(x).scaled(by: -0.5)] }
    }

    public func abs() -> Tensor {
        let out = mapUnary { s, d, n in for i in 0..<n { d[i] = Swift.abs(s[i]) } }
        let x = detached()
        return Tensor.record(out, [self]) { g in [g.multiplying(x.mapUnary { s, d, n in for i in 0..<n { d[i] = s[i] > 0 ? 1 : (s[i] < 0 ? -1 : 0) } })] }
    }

    public func tanh() -> Tensor {
        let out = mapUnary { VectorMath.tanh($0, $1, $2) }
        // d tanh = 1 − y²
        return Tensor.record(out, [self]) { g in [g.multiplying(1 - out.detached().pow(2))] }
    }

    public func sigmoid() -> Tensor {
        let out = mapUnary { VectorMath.sigmoid($0, $1, $2) }
        // dσ = σ(1 − σ)
        return Tensor.record(out, [self]) { g in let y = out.detached(); return [g.multiplying(y.multiplying(1 - y))] }
    }

    /// x·σ(x) (SiLU / swish).
    public func silu() -> Tensor {
        let out = mapUnary { VectorMath.silu($0, $1, $2) }
        let x = detached()
        // d/dx xσ(x) = σ(x)(1 + x(1 − σ(x)))
        return Tensor.record(out, [self]) { g in [x.zipRows(g) { VectorMath.siluBackward($0, $1, $2, $3) }] }
    }

    public func relu() -> Tensor {
        let out = mapUnary { s, d, n in for i in 0..<n { d[i] = Swift.max(s[i], 0) } }
        let x = detached()
        return Tensor.record(out, [self]) { g in [g.multiplying(x.mapUnary { s, d, n in for i in 0..<n { d[i] = s[i] > 0 ? 1 : 0 } })] }
    }

    public enum GELUApproximation: Sendable { case none, tanh }

    /// GELU, exact (erf) or with the tanh approximation.
    public func gelu(approximation: GELUApproximation = .none) -> Tensor {
        let out = approximation == .tanh ? mapUnary { VectorMath.geluTanh($0, $1, $2) } : mapUnary { VectorMath.geluErf($0, $1, $2) }
        let x = detached()
        return Tensor.record(out, [self]) { g in
            switch approximation {
            case .none: return [x.zipRows(g) { VectorMath.geluErfBackward($0, $1, $2, $3) }]     // Φ(x) + x·φ(x)
            case .tanh: return [x.zipRows(g) { VectorMath.geluTanhBackward($0, $1, $2, $3) }]
            }
        }
    }

    /// Limits values to [lower, upper]; the gradient is zero where clamped.
    public func clamped(min lower: Float = -.infinity, max upper: Float = .infinity) -> Tensor {
        let out = mapUnary { s, d, n in for i in 0..<n { d[i] = Swift.min(Swift.max(s[i], lower), upper) } }
        let x = detached()
        return Tensor.record(out, [self]) { g in
            [g.multiplying(x.mapUnary { s, d, n in for i in 0..<n { d[i] = (s[i] >= lower && s[i] <= upper) ? 1 : 0 } })]
        }
    }

    /// Picks `a` where `condition` is non-zero, else `b` (all three broadcast).
    public static func select(_ condition: Tensor, _ a: Tensor, _ b: Tensor) -> Tensor {
        let shape = Shape.broadcast(Shape.broadcast(condition.shape, a.shape), b.shape)
        let c = condition.toFloat32().expanded(shape).contiguous()
        let av = a.toFloat32().expanded(shape).contiguous(), bv = b.toFloat32().expanded(shape).contiguous()
        let out = Tensor.empty(shape)
        withExtendedLifetime((c, av, bv)) {
            for i in 0..<out.count { out.f32[i] = c.f32[i] != 0 ? av.f32[i] : bv.f32[i] }
        }
        let mask = c.detached()
        return Tensor.record(out, [a, b]) { g in
            let zero = Tensor.zeros(shape)
            return [Tensor.select(mask, g, zero).summed(toShape: a.shape), Tensor.select(mask, zero, g).summed(toShape: b.shape)]
        }
    }
}
