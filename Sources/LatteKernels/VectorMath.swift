// Placeholder scalar vector math with the final signatures; the vector-math work replaces the
// bodies with SIMD C kernels chosen at run time. All functions allow y == x (in place).
import Foundation

public enum VectorMath {
    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = Foundation.exp(x[i]) }
    }
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = Foundation.tanh(x[i]) }
    }
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = 1 / (1 + Foundation.exp(-x[i])) }
    }
    /// x · sigmoid(x)
    public static func silu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = x[i] / (1 + Foundation.exp(-x[i])) }
    }
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    public static func geluTanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n {
            let v = x[i]
            y[i] = 0.5 * v * (1 + Foundation.tanh(0.7978845608 * (v + 0.044715 * v * v * v)))
        }
    }
    /// 0.5·x·(1 + erf(x/√2))
    public static func geluErf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { y[i] = 0.5 * x[i] * (1 + Foundation.erf(x[i] * 0.70710678)) }
    }
    /// Row-wise softmax over `rows` rows of `cols` contiguous values.
    public static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        for r in 0..<rows {
            let xr = x + r * cols, yr = y + r * cols
            var m = -Float.infinity
            for j in 0..<cols { m = Swift.max(m, xr[j]) }
            if m == -Float.infinity { for j in 0..<cols { yr[j] = 0 }; continue }
            var s: Float = 0
            for j in 0..<cols { let e = Foundation.exp(xr[j] - m); yr[j] = e; s += e }
            let inv = 1 / s
            for j in 0..<cols { yr[j] *= inv }
        }
    }
    /// Dot product of n values.
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        var s: Float = 0
        for i in 0..<n { s += x[i] * y[i] }
        return s
    }
}
