// Vectorised element-wise math, reductions and row kernels (softmax, norms) for the tensor
// engine's forward and backward passes. The arithmetic is in C (CLatteKernels/vecmath_*.c):
// Swift on the default x86-64 target cannot emit AVX or FMA, so each kernel exists as an
// AVX-512, AVX2+FMA and portable-C variant, one of which is chosen at run time.
//
// Every call is single-threaded; callers split large tensors across Parallel.forEach (the
// kernels are thread-safe). Element-wise kernels allow the output to alias an input (y == x).
import CLatteKernels

public enum VectorMath {
    /// A compiled kernel variant.
    public enum Variant: Int32, CaseIterable, Sendable, CustomStringConvertible {
        case generic = 0, avx2 = 1, avx512 = 2

        public var description: String { String(cString: latte_vm_variant_name(rawValue)) }
        /// Whether this CPU (and this build's architecture) can run the variant.
        public var isSupported: Bool { latte_vm_variant_supported(rawValue) != 0 }
    }

    /// The variant in use: the best the CPU supports, unless changed with `useVariant`.
    public static var variant: Variant { Variant(rawValue: latte_vm_variant()) ?? .generic }

    /// Variants this CPU can run, best last.
    public static var supportedVariants: [Variant] { Variant.allCases.filter(\.isSupported) }

    /// Switches all vector-math and attention kernels to `variant` (for tests and benchmarks;
    /// do not call while kernels run on other threads). Returns false when unsupported.
    @discardableResult
    public static func useVariant(_ variant: Variant) -> Bool { latte_vm_set_variant(variant.rawValue) != 0 }

    // MARK: Element-wise functions: y = f(x)

    public static func exp(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_exp(x, y, n)
    }
    /// Natural log; log(0) = −inf, log(x < 0) = NaN.
    public static func log(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_log(x, y, n)
    }
    public static func tanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_tanh(x, y, n)
    }
    public static func sigmoid(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_sigmoid(x, y, n)
    }
    /// x · sigmoid(x)
    public static func silu(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_silu(x, y, n)
    }
    /// 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    public static func geluTanh(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_gelu_tanh(x, y, n)
    }
    /// 0.5·x·(1 + erf(x/√2))
    public static func geluErf(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_gelu_erf(x, y, n)
    }

    // MARK: Element-wise derivatives: dx = dy · f′(x) (dx may alias x or dy)

    /// dx = dy·σ(x)·(1 + x·(1 − σ(x)))
    public static func siluBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ n: Int
    ) {
        latte_vm_silu_backward(x, dy, dx, n)
    }
    public static func geluTanhBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ n: Int
    ) {
        latte_vm_gelu_tanh_backward(x, dy, dx, n)
    }
    /// dx = dy·(Φ(x) + x·φ(x))
    public static func geluErfBackward(
        _ x: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, _ n: Int
    ) {
        latte_vm_gelu_erf_backward(x, dy, dx, n)
    }

    // MARK: Fused helpers

    /// y = a + b
    public static func add(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_add(a, b, y, n)
    }
    /// y = a − b
    public static func sub(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_sub(a, b, y, n)
    }
    /// y = a ⊙ b
    public static func mul(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_mul(a, b, y, n)
    }
    /// y += alpha · x
    public static func axpy(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_axpy(alpha, x, y, n)
    }
    /// y = alpha · x
    public static func scale(_ alpha: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
        latte_vm_scale(alpha, x, y, n)
    }

    // MARK: Reductions

    public static func sum(_ x: UnsafePointer<Float>, _ n: Int) -> Float { latte_vm_sum(x, n) }
    /// Largest value; NaN if any value is NaN; −inf when n == 0.
    public static func max(_ x: UnsafePointer<Float>, _ n: Int) -> Float { latte_vm_max(x, n) }
    /// Dot product of n values.
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, _ n: Int) -> Float {
        latte_vm_dot(x, y, n)
    }

    // MARK: Row kernels (rows × cols, rows contiguous)

    /// Row-wise softmax; a row of all −inf (fully masked) gives zeros.
    public static func softmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        latte_vm_softmax_rows(x, y, rows, cols)
    }
    /// Row-wise log-softmax; a row of all −inf gives −inf.
    public static func logSoftmaxRows(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int) {
        latte_vm_log_softmax_rows(x, y, rows, cols)
    }
    /// dx = y ⊙ (dy − Σ dy·y) with y the softmax output; dx may alias y or dy.
    public static func softmaxRowsBackward(
        _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int
    ) {
        latte_vm_softmax_rows_backward(y, dy, dx, rows, cols)
    }
    /// dx = dy − exp(y) · Σ dy with y the log-softmax output; dx may alias y or dy.
    public static func logSoftmaxRowsBackward(
        _ y: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, rows: Int, cols: Int
    ) {
        latte_vm_log_softmax_rows_backward(y, dy, dx, rows, cols)
    }

    /// RMSNorm: y = x / √(mean(x²) + eps) · weight. `inverseRMS` (rows values, optional)
    /// receives 1/√(mean(x²) + eps) per row for the backward pass.
    public static func rmsNormRows(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, _ y: UnsafeMutablePointer<Float>,
        rows: Int, cols: Int, eps: Float, inverseRMS: UnsafeMutablePointer<Float>? = nil
    ) {
        latte_vm_rms_norm_rows(x, weight, y, rows, cols, eps, inverseRMS)
    }

    /// RMSNorm backward from the forward's `inverseRMS`: dx is overwritten; dWeight (cols
    /// values, optional) is accumulated with Σ_rows dy · x̂.
    public static func rmsNormRowsBackward(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, inverseRMS: UnsafePointer<Float>,
        _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>, dWeight: UnsafeMutablePointer<Float>?,
        rows: Int, cols: Int
    ) {
        latte_vm_rms_norm_rows_backward(x, weight, inverseRMS, dy, dx, dWeight, rows, cols)
    }

    /// LayerNorm: y = (x − μ)/√(var + eps) · weight + bias (biased variance). `mean` and
    /// `inverseStd` (rows values each, optional) are stored for the backward pass.
    public static func layerNormRows(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, bias: UnsafePointer<Float>?,
        _ y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, eps: Float,
        mean: UnsafeMutablePointer<Float>? = nil, inverseStd: UnsafeMutablePointer<Float>? = nil
    ) {
        latte_vm_layer_norm_rows(x, weight, bias, y, rows, cols, eps, mean, inverseStd)
    }

    /// LayerNorm backward: dx is overwritten; dWeight and dBias (optional) are accumulated.
    public static func layerNormRowsBackward(
        _ x: UnsafePointer<Float>, weight: UnsafePointer<Float>?, mean: UnsafePointer<Float>,
        inverseStd: UnsafePointer<Float>, _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>,
        dWeight: UnsafeMutablePointer<Float>?, dBias: UnsafeMutablePointer<Float>?, rows: Int, cols: Int
    ) {
        latte_vm_layer_norm_rows_backward(x, weight, mean, inverseStd, dy, dx, dWeight, dBias, rows, cols)
    }
}
