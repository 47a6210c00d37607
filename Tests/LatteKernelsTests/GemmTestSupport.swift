@testable import LatteKernels

/// Deterministic values in [-1, 1) (a 64-bit LCG), so failures reproduce.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 | 1 }
    mutating func next() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
    }
    mutating func fill(_ count: Int) -> [Float] { (0..<count).map { _ in next() } }
}

/// One row-major operand as stored: `rows`×`cols` with leading dimension `ld` ≥ cols.
struct StoredMatrix {
    var values: [Float]
    let rows: Int, cols: Int, ld: Int
    init(rows: Int, cols: Int, pad: Int, random: inout TestRandom) {
        self.rows = rows; self.cols = cols; ld = cols + pad
        values = random.fill(max(1, rows * ld))
    }
}

/// Double-precision reference: returns alpha·op(A)·op(B) + beta·C and Σ|a·b| per element (for the
/// rounding tolerance). beta == 0 ignores C entirely, as sgemm must.
func referenceGemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float,
    a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int
) -> (value: [Double], magnitude: [Double]) {
    var value = [Double](repeating: 0, count: m * n)
    var magnitude = [Double](repeating: 0, count: m * n)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0, mag = 0.0
            for p in 0..<k {
                let av = Double(transposeA ? a[p * lda + i] : a[i * lda + p])
                let bv = Double(transposeB ? b[j * ldb + p] : b[p * ldb + j])
                s += av * bv
                mag += abs(av * bv)
            }
            let old = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
            value[i * n + j] = Double(alpha) * s + old
            magnitude[i * n + j] = abs(Double(alpha)) * mag + abs(old)
        }
    }
    return (value, magnitude)
}

/// Float32 accumulation over k terms: allow k·ε relative to Σ|a·b| (the classic bound).
func gemmTolerance(k: Int, magnitude: Double) -> Double {
    Double(max(k, 1)) * Double(Float.ulpOfOne) * magnitude + 1e-6
}
