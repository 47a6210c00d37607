import Foundation

/// One GEMM shape's result. GFLOP/s are rounded to 0.01 and the ratio (ours / OpenBLAS) to 0.001, so
/// the JSON stays short; nil when OpenBLAS was not measured.
public struct GemmRow: Equatable, Sendable {
    public let shape: String
    public let threads: Int
    public let oursGFLOPS: Double
    public let openBLASGFLOPS: Double?
    public let ratio: Double?

    public init(shape: String, threads: Int, oursGFLOPS: Double, openBLASGFLOPS: Double?, ratio: Double?) {
        self.shape = shape
        self.threads = threads
        self.oursGFLOPS = oursGFLOPS
        self.openBLASGFLOPS = openBLASGFLOPS
        self.ratio = ratio
    }

    /// A JSON object, keys in the order every earlier run printed them, so results diff line by line.
    /// A missing OpenBLAS shows as explicit nulls, not as absent keys.
    public var json: String {
        "{\"shape\": \"\(shape)\", \"threads\": \(threads), \"ours_gflops\": \(oursGFLOPS), "
            + "\"openblas_gflops\": \(openBLASGFLOPS.map { "\($0)" } ?? "null"), "
            + "\"ratio\": \(ratio.map { "\($0)" } ?? "null")}"
    }

    /// One line of the table, in columns under GemmBenchmark.table's header.
    public var tableLine: String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        return pad(shape, 18) + pad("\(threads)", 9) + pad(String(format: "%.1f", oursGFLOPS), 14)
            + pad(openBLASGFLOPS.map { String(format: "%.1f", $0) } ?? "n/a", 18)
            + (ratio.map { String(format: "%.3f", $0) } ?? "n/a")
    }
}
