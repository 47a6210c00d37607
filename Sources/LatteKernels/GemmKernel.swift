import CLatteKernels

/// A family of GEMM micro-kernels (C, in CLatteKernels), chosen once from the CPU features.
public enum GemmKernel: Int32, CaseIterable, Sendable, CustomStringConvertible {
    case generic = 0  // LATTE_GEMM_GENERIC
    case avx2 = 1     // LATTE_GEMM_AVX2
    case avx512 = 2   // LATTE_GEMM_AVX512

    /// The fastest family the running CPU supports.
    public static let best = GemmKernel(rawValue: Int32(latte_gemm_best_kind())) ?? .generic

    /// Whether this family can run on the current CPU.
    public var isSupported: Bool { latte_gemm_kind_supported(rawValue) != 0 }

    /// Micro-tile rows and columns (the packing panel widths).
    public var mr: Int { Int(latte_gemm_mr(rawValue)) }
    public var nr: Int { Int(latte_gemm_nr(rawValue)) }

    public var name: String {
        switch self {
        case .generic: return "generic"
        case .avx2: return "avx2"
        case .avx512: return "avx512"
        }
    }

    /// e.g. "avx512 8x48".
    public var description: String { "\(name) \(mr)x\(nr)" }
}

extension Gemm {
    /// Tests set this to force a family; nil, or a family this CPU can't run, means `GemmKernel.best`.
    nonisolated(unsafe) static var kernelOverride: GemmKernel?

    /// The family `sgemm` uses.
    public static var kernel: GemmKernel {
        if let forced = kernelOverride, forced.isSupported { return forced }
        return GemmKernel.best
    }
}
