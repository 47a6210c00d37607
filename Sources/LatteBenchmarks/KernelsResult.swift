import Foundation
import LatteKernels

/// What `KernelsBenchmark` measured: one row per vector-math kernel, then the attention timings.
public struct KernelsResult: Sendable {
    public let vectorMath: [VectorMathRow]
    public let attention: AttentionRow

    /// A JSON array: one object per kernel and variant, then the attention object.
    public var json: String {
        let records = vectorMath.flatMap(\.jsonRecords) + [attention.json]
        return "[\n  " + records.joined(separator: ",\n  ") + "\n]"
    }
}

/// One vector-math kernel's throughput under every variant this CPU supports.
public struct VectorMathRow: Sendable {
    public struct Rate: Sendable {
        public let variant: VectorMath.Variant
        /// Giga-elements per second of thread CPU time.
        public let gelemPerSecond: Double
    }

    public let kernel: String
    public let rates: [Rate]

    /// One line under `KernelsBenchmark.vectorMathHeader`.
    public var tableLine: String {
        rates.reduce(kernel.padding(toLength: 22, withPad: " ", startingAt: 0)) { $0 + String(format: "%-10.3f", $1.gelemPerSecond) }
    }

    var jsonRecords: [String] {
        rates.map { "{\"kernel\": \"\(kernel)\", \"variant\": \"\($0.variant)\", \"gelem_per_s\": \($0.gelemPerSecond)}" }
    }
}

/// Flash attention (no mask, causal, one decoding query) and, when measured, naive attention.
public struct AttentionRow: Sendable {
    /// Best seconds per call in wall time and in process CPU time.
    public struct Time: Sendable {
        public let wall: Double
        public let cpu: Double
    }

    /// "B=… H=… T=… D=…".
    public let shape: String
    public let threads: Int
    public let variant: String
    /// nil when the naive attention was not timed (`naive: false`).
    public let naive: Time?
    public let flash: Time
    public let flashCausal: Time
    public let decode: Time

    /// A blank line, a header and one line per method in milliseconds, then flash's speed-up over naive.
    public var table: String {
        let naiveWall = naive?.wall ?? .nan, naiveCPU = naive?.cpu ?? .nan
        var lines = ["", "attention \(shape), \(threads) thread(s), \(variant) kernels   wall ms    cpu ms"]
        for (name, wallT, cpuT) in [("naive softmax(QKᵀ)V with Gemm", naiveWall, naiveCPU), ("flash, no mask", flash.wall, flash.cpu),
                                   ("flash, causal", flashCausal.wall, flashCausal.cpu),
                                   ("flash, decode (1 query, causal)", decode.wall, decode.cpu)] {
            lines.append(name.padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: "%9.3f %9.3f", wallT * 1e3, cpuT * 1e3))
        }
        if naive != nil { lines.append(String(format: "flash (no mask) is %.1f× faster than naive (cpu time)", naiveCPU / flash.cpu)) }
        return lines.joined(separator: "\n")
    }

    /// Milliseconds, null for what was not timed.
    public var json: String {
        func ms(_ seconds: Double?) -> String { seconds.map { "\($0 * 1e3)" } ?? "null" }
        return "{\"attention\": \"\(shape)\", \"threads\": \(threads), \"variant\": \"\(variant)\", "
            + "\"naive_ms\": \(ms(naive?.wall)), \"flash_ms\": \(ms(flash.wall)), \"flash_causal_ms\": \(ms(flashCausal.wall)), "
            + "\"decode_ms\": \(ms(decode.wall)), \"naive_cpu_ms\": \(ms(naive?.cpu)), \"flash_cpu_ms\": \(ms(flash.cpu)), "
            + "\"flash_causal_cpu_ms\": \(ms(flashCausal.cpu)), \"decode_cpu_ms\": \(ms(decode.cpu))}"
    }
}
