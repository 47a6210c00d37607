import CLatteKernels

/// The CPU features detected at run time; kernels are selected from these.
public struct CPUFeatures: OptionSet, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public static let sse41 = CPUFeatures(rawValue: UInt32(LATTE_CPU_SSE41))
    public static let avx = CPUFeatures(rawValue: UInt32(LATTE_CPU_AVX))
    public static let avx2 = CPUFeatures(rawValue: UInt32(LATTE_CPU_AVX2))
    public static let fma = CPUFeatures(rawValue: UInt32(LATTE_CPU_FMA))
    public static let f16c = CPUFeatures(rawValue: UInt32(LATTE_CPU_F16C))
    public static let avx512f = CPUFeatures(rawValue: UInt32(LATTE_CPU_AVX512F))
    public static let avx512bw = CPUFeatures(rawValue: UInt32(LATTE_CPU_AVX512BW))
    public static let avx512dq = CPUFeatures(rawValue: UInt32(LATTE_CPU_AVX512DQ))
    public static let avx512vl = CPUFeatures(rawValue: UInt32(LATTE_CPU_AVX512VL))
    public static let avx512bf16 = CPUFeatures(rawValue: UInt32(LATTE_CPU_AVX512BF16))
    public static let neon = CPUFeatures(rawValue: UInt32(LATTE_CPU_NEON))

    /// Features the kernels may use: the running CPU's, lowered by LATTE_KERNELS when set.
    public static let current = CPUFeatures(rawValue: UInt32(latte_cpu_features()))

    /// Features of the running CPU before LATTE_KERNELS.
    public static let detected = CPUFeatures(rawValue: UInt32(latte_cpu_detected_features()))

    /// What `latte info` adds when LATTE_KERNELS is set: the override in force, or why it was
    /// ignored. nil when unset (or "auto").
    public static var overrideNote: String? {
        let raw = getenv("LATTE_KERNELS").map { String(cString: $0) } ?? ""
        switch latte_cpu_kernel_override() {
        case Int32(LATTE_KERNELS_AVX2), Int32(LATTE_KERNELS_GENERIC):
            return "override: LATTE_KERNELS=\(raw) (cpu has: \(detected))"
        case Int32(LATTE_KERNELS_INVALID):
            return "LATTE_KERNELS=\(raw) not understood (expected avx512, avx2, generic or auto): ignored"
        default:
            return raw.isEmpty || raw == "auto" ? nil : "LATTE_KERNELS=\(raw): no change"
        }
    }

    public var description: String {
        let names: [(CPUFeatures, String)] = [
            (.sse41, "sse4.1"), (.avx, "avx"), (.avx2, "avx2"), (.fma, "fma"), (.f16c, "f16c"),
            (.avx512f, "avx512f"), (.avx512bw, "avx512bw"), (.avx512dq, "avx512dq"),
            (.avx512vl, "avx512vl"), (.avx512bf16, "avx512bf16"), (.neon, "neon"),
        ]
        let present = names.filter { contains($0.0) }.map(\.1)
        return present.isEmpty ? "baseline" : present.joined(separator: " ")
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
