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

    /// Features of the running CPU.
    public static let current = CPUFeatures(rawValue: UInt32(latte_cpu_features()))

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
