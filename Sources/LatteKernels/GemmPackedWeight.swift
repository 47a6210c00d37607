// A weight matrix packed once, for inference, into the layout GemmBlocked's per-call packing of B
// produces, so a product with it skips that packing. In the paper-scale generator (M = 64–512 token
// rows against [N, K] weights) re-packing every weight on every call was 14 % of GEMM time (perf).
import CLatteKernels

/// W [n, k] (y = x·Wᵀ, torch's Linear layout) packed for one kernel family: for each depth block of
/// `GemmBlocked.kc` rows of k (offset pc · nPadded), ceil(n/NR) panels of NR columns × that depth,
/// panel q of block pc holding W[q·NR + j, pc + p] at [p·NR + j], columns past n zero. The products
/// read these panels exactly where they would have packed their own, so the sums are the same
/// operations in the same order: results equal the unpacked GEMM's bit for bit.
public final class GemmPackedWeight: @unchecked Sendable {
    public let kind: GemmKernel
    /// Output features (columns of the product) and input features (its depth).
    public let n: Int, k: Int
    /// n rounded up to whole panels.
    let nPadded: Int
    let storage: UnsafeMutablePointer<Float>

    /// Packs `weight` (n rows of k floats, `ld` apart) for `kind` (default: the family sgemm runs).
    public init(weight: UnsafePointer<Float>, n: Int, k: Int, ld: Int, kind: GemmKernel = Gemm.kernel) {
        precondition(n > 0 && k > 0 && ld >= k, "GemmPackedWeight: bad shape [\(n), \(k)] with row stride \(ld)")
        self.kind = kind
        (self.n, self.k) = (n, k)
        nPadded = (n + kind.nr - 1) / kind.nr * kind.nr
        let bytes = (nPadded * k * MemoryLayout<Float>.stride + 63) & ~63
        guard let raw = aligned_alloc(64, bytes) else { fatalError("GemmPackedWeight: out of memory for \(bytes) bytes") }
        storage = raw.bindMemory(to: Float.self, capacity: nPadded * k)
        var pc = 0
        while pc < k {
            let kcb = Swift.min(GemmBlocked.kc, k - pc)
            latte_gemm_pack_b(kind.rawValue, 1, weight + pc, ld, kcb, n, storage + pc * nPadded)
            pc += kcb
        }
    }

    deinit { free(storage) }

    /// Bytes held (the packed panels, tails included).
    public var byteCount: Int { nPadded * k * MemoryLayout<Float>.stride }

    /// The panels of columns jc… (a multiple of NR) in the depth block starting at pc (of depth kcb).
    func panels(depthOffset pc: Int, depth kcb: Int, column jc: Int) -> UnsafePointer<Float> {
        UnsafePointer(storage + pc * nPadded + jc * kcb)
    }
}

extension Gemm {
    /// C[m×n] = A[m×k] · Wᵀ + beta · C with W pre-packed (`GemmPackedWeight`); A row-major (lda ≥ k),
    /// C rows ldc apart; beta == 0 means C is not read. Threads as `sgemm`.
    public static func sgemm(m: Int, a: UnsafePointer<Float>, lda: Int, packedWeight w: GemmPackedWeight,
                             beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        guard m > 0 else { return }
        precondition(w.kind.isSupported, "GemmPackedWeight: packed for \(w.kind.name), which this CPU cannot run")
        GemmBlocked.run(kind: w.kind, transposeA: false, transposeB: true, m: m, n: w.n, k: w.k, alpha: 1,
                        a: a, lda: lda, b: UnsafePointer(w.storage), ldb: w.k, beta: beta, c: c, ldc: ldc,
                        threads: Parallel.isInsideParallelRegion ? 1 : Parallel.threadCount, packedB: w)
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
