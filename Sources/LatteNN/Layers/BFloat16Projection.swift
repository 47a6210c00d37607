import LatteKernels
import LatteTensor

// MARK: - bf16 projections

/// Projections that read bf16 weights directly. `Tensor.linear` converts a bf16 weight to a float32
/// copy on every call, which for decoding (one row per step) costs more than the product itself:
/// it writes and re-reads twice the weight's bytes. For a few rows, a GEMV that widens bf16 to float32
/// in registers (bf16 is the top half of a float32) reads each weight once. Larger batches (prefill)
/// keep the converting GEMM, whose conversion is amortised over the rows. A `Linear` uses it when
/// `readsBFloat16Directly` is set (Qwen2-VL, whose checkpoints stay bf16 in memory).
public enum BFloat16Projection {
    /// Rows up to which the direct kernel is used.
    public static let maxRows = 4

    /// y = x·Wᵀ + b; the direct kernel when the weight is bf16, x has few rows and no gradient is recorded.
    public static func apply(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
        let inF = weight.dim(-1)
        guard weight.dtype == .bfloat16, weight.rank == 2, weight.isContiguous, x.count / max(inF, 1) <= maxRows,
              x.gradSlot == nil else {   // frozen-backbone inference only; a tracked input takes the recorded path
            // Many rows (prefill): the converting GEMM. Converting is cheap next to the product here;
            // a vectorised widening measured no faster (the float32 copy's allocation dominates).
            return Tensor.linear(x, weight: weight, bias: bias)
        }
        precondition(x.dim(-1) == inF, "linear: input has \(x.dim(-1)) features, weight \(weight.shape) expects \(inF)")
        let outF = weight.shape[0], rows = x.count / inF
        let xc = x.toFloat32().contiguous(), bc = bias?.toFloat32().contiguous()
        let out = Tensor.empty(Array(x.shape.dropLast()) + [outF])
        // Each x row split into its even and odd elements, matching the two bf16 halves of a 32-bit load.
        let half = inF / 2
        let split = UnsafeMutablePointer<Float>.allocate(capacity: rows * inF)
        defer { split.deallocate() }
        withExtendedLifetime(xc) {
            let src = xc.f32
            for r in 0..<rows {
                let x = src + r * inF, d = split + r * inF
                for j in 0..<half { d[j] = x[2 * j]; d[half + j] = x[2 * j + 1] }
                if inF % 2 == 1 { d[inF - 1] = x[inF - 1] }
            }
        }
        let w = UnsafeRawPointer(weight.storage.base + weight.offset * 2)
        let block = 64
        withExtendedLifetime((bc, weight)) {
            do {
                let xp = UnsafePointer(split), bp = bc.map { UnsafePointer($0.f32) }, yp = out.f32
                Parallel.forEach((outF + block - 1) / block) { chunk in
                    for o in (chunk * block)..<min(chunk * block + block, outF) {
                        let row = w + o * inF * 2
                        for r in 0..<rows {
                            yp[r * outF + o] = dot(row, xp + r * inF, inF) + (bp?[o] ?? 0)
                        }
                    }
                }
            }
        }
        return out
    }

    /// Σ widen(w[i])·x[i] for a bf16 row and an x row stored evens-then-odds. A 32-bit word holds
    /// elements 2p (low half) and 2p+1 (high half); bf16 is a float32's top half, so `word << 16` and
    /// `word & 0xFFFF0000` are those two elements as float32 bit patterns. Plain multiply-add (no fma
    /// call, which is a library call per lane without FMA enabled at compile time).
    @inline(__always)
    private static func dot(_ w: UnsafeRawPointer, _ x: UnsafePointer<Float>, _ n: Int) -> Float {
        let half = n / 2
        let xe = UnsafeRawPointer(x), xo = UnsafeRawPointer(x + half)
        var accE = SIMD16<Float>(), accO = SIMD16<Float>()
        let mask = SIMD16<UInt32>(repeating: 0xFFFF_0000)
        var p = 0
        while p + 16 <= half {
            let words = w.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<UInt32>.self)
            let even = unsafeBitCast(words &<< 16, to: SIMD16<Float>.self)
            let odd = unsafeBitCast(words & mask, to: SIMD16<Float>.self)
            accE += even * xe.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self)
            accO += odd * xo.loadUnaligned(fromByteOffset: p * 4, as: SIMD16<Float>.self)
            p += 16
        }
        var sum = (accE + accO).sum()
        @inline(__always) func bf16(_ i: Int) -> Float {
            Float(bitPattern: UInt32(w.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
        }
        while p < half {
            sum += bf16(2 * p) * x[p] + bf16(2 * p + 1) * x[half + p]
            p += 1
        }
        if n % 2 == 1 { sum += bf16(n - 1) * x[n - 1] }
        return sum
    }
}
