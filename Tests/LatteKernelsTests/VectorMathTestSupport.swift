// Helpers shared by the vector-math and flash-attention tests: a seeded generator, float
// buffers, and a loop over every kernel variant this CPU supports.
import XCTest
@testable import LatteKernels

/// SplitMix64: small, seedable, identical on every platform.
struct SeededGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    /// Uniform in [lo, hi).
    mutating func uniform(_ lo: Float, _ hi: Float) -> Float {
        lo + (hi - lo) * Float(next() >> 40) / Float(1 << 24)
    }
    mutating func uniforms(_ n: Int, _ lo: Float, _ hi: Float) -> [Float] { (0..<n).map { _ in uniform(lo, hi) } }
}

/// Runs `body` once per kernel variant the CPU supports, restoring the best one afterwards.
func forEachVariant(_ body: (VectorMath.Variant) throws -> Void) rethrows {
    let best = VectorMath.variant
    defer { VectorMath.useVariant(best) }
    for variant in VectorMath.supportedVariants {
        XCTAssertTrue(VectorMath.useVariant(variant))
        XCTAssertEqual(VectorMath.variant, variant)
        try body(variant)
    }
}

/// Applies a unary kernel to an array (out of place).
func apply(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void, _ x: [Float]) -> [Float] {
    var y = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { xp in
        y.withUnsafeMutableBufferPointer { yp in kernel(xp.baseAddress!, yp.baseAddress!, x.count) }
    }
    return y
}

/// Same kernel in place (y == x), which every element-wise kernel must allow.
func applyInPlace(_ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void, _ x: [Float]) -> [Float] {
    var y = x
    y.withUnsafeMutableBufferPointer { p in kernel(UnsafePointer(p.baseAddress!), p.baseAddress!, x.count) }
    return y
}

/// Applies a derivative kernel dx = dy·f′(x).
func applyGrad(
    _ kernel: (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void,
    _ x: [Float], _ dy: [Float]
) -> [Float] {
    var dx = [Float](repeating: .nan, count: x.count)
    x.withUnsafeBufferPointer { xp in
        dy.withUnsafeBufferPointer { gp in
            dx.withUnsafeMutableBufferPointer { dp in kernel(xp.baseAddress!, gp.baseAddress!, dp.baseAddress!, x.count) }
        }
    }
    return dx
}

/// Both NaN, both the same infinity, or |got − want| ≤ abs + rel·|want|.
func close(_ got: Float, _ want: Double, rel: Double, abs: Double) -> Bool {
    if want.isNaN { return got.isNaN }
    // A finite reference beyond Float's range must round to ±inf (e.g. exp(88.73)).
    if want.isInfinite || Float(want).isInfinite { return got == Float(want) }
    if !got.isFinite { return false }
    return Swift.abs(Double(got) - want) <= abs + rel * Swift.abs(want)
}
