// Products with weights kept in GGUF block-quantised formats (Q8_0, Q4_1): decoding (one token) runs
// the row-at-a-time kernels of gemv_quant_*.c (latte_gemv.h) split over rows (x rounded to int8 per
// 32 values, integer block dot products; see latte_quant.h for the accuracy bound); prefill (many tokens) dequantises panels of
// rows to float32 and hands each to the float32 GEMM, exact up to rounding, where the weight bytes
// are amortised over every token.
import CLatteKernels

/// A GGUF block format the quantised kernels read (raw value = ggml type id).
public enum QuantizedFormat: Int32, CaseIterable, Sendable, CustomStringConvertible {
    case q4_1 = 3  // LATTE_QUANT_Q4_1
    case q8_0 = 8  // LATTE_QUANT_Q8_0

    /// Weights per block.
    public static let blockElements = 32
    /// Bytes per block.
    public var blockBytes: Int { Int(latte_quant_block_bytes(rawValue)) }
    /// Bytes of one row of `columns` weights (a whole number of blocks).
    public func rowBytes(columns: Int) -> Int { columns / Self.blockElements * blockBytes }

    public var description: String { self == .q4_1 ? "Q4_1" : "Q8_0" }
}

public enum QuantizedGemv {
    /// Rows per dequantised prefill panel: a multiple of the GEMV's 4-row unroll and of the AVX-512
    /// micro-tile's 48 columns; 96 × 1536 floats (576 KB) stays in L2.
    static let panelRows = 96
    /// From this many input rows on, panels + GEMM beat one fused GEMV per row.
    static let panelMinimumRows = 4
    /// Below this many weights one thread wins (dispatch costs a few microseconds).
    static let parallelWeights = 1 << 15

    /// The family used when none is passed: the best one whose quantised kernels run here (AVX-512
    /// needs VNNI, the AVX families F16C).
    public static let kernel: GemmKernel = [.avx512, .avx2].first { $0.supportsQuantizedKernels } ?? .generic

    /// y[j] = Σ_k W[j, k]·x[k] for j in 0..<rows. W row j is `rowBytes` bytes at weights + j·rowBytes.
    /// `columns` must be a positive multiple of 32.
    public static func gemv(format: QuantizedFormat, rows: Int, columns: Int, weights: UnsafeRawPointer,
                            rowBytes: Int, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                            kernel: GemmKernel? = nil, threads: Int? = nil) {
        precondition(columns > 0 && columns % QuantizedFormat.blockElements == 0,
                     "quantised GEMV: \(columns) columns are not a whole number of 32-weight blocks")
        guard rows > 0 else { return }
        let kind = kernel ?? Self.kernel
        let threads = threads ?? (Parallel.isInsideParallelRegion ? 1 : Parallel.threadCount)
        let groups = (rows + 3) / 4
        // Several tasks per thread, claimed dynamically, so a descheduled thread's share moves on.
        let tasks = rows * columns < parallelWeights || threads == 1 ? 1 : max(1, min(threads * 4, groups))
        if tasks == 1 {
            let rc = latte_quant_gemv_rowwise(kind.rawValue, format.rawValue, rows, columns, weights, rowBytes, x, y)
            precondition(rc == 0, "quantised GEMV: kernel \(kind.name) rejected \(format) with \(columns) columns")
            return
        }
        // x is rounded to int8 blocks once here, not once per task (eight tasks at two threads).
        let blocks = columns / QuantizedFormat.blockElements
        let xq = UnsafeMutablePointer<Int8>.allocate(capacity: columns)
        let scales = UnsafeMutablePointer<Float>.allocate(capacity: 2 * blocks)
        defer { xq.deallocate(); scales.deallocate() }
        let dx = scales, sx = scales + blocks
        precondition(latte_quant_prepare_x(columns, x, xq, dx, sx) == 0)
        Parallel.forEach(tasks) { task in
            let j0 = min(rows, groups * task / tasks * 4), j1 = min(rows, groups * (task + 1) / tasks * 4)
            guard j0 < j1 else { return }
            let rc = latte_quant_gemv_rowwise_prepared(kind.rawValue, format.rawValue, j1 - j0, columns,
                                                       weights + j0 * rowBytes, rowBytes, xq, dx, sx, y + j0)
            precondition(rc == 0, "quantised GEMV: kernel \(kind.name) rejected \(format) with \(columns) columns")
        }
    }

    /// Y[i, j] = Σ_k X[i, k]·W[j, k] for `m` rows of X ([m, columns], row-major) into Y ([m, rows]).
    public static func matmul(format: QuantizedFormat, rows: Int, columns: Int, weights: UnsafeRawPointer,
                              rowBytes: Int, x: UnsafePointer<Float>, m: Int, y: UnsafeMutablePointer<Float>,
                              kernel: GemmKernel? = nil) {
        guard m > 0, rows > 0 else { return }
        if m < panelMinimumRows {
            for i in 0..<m {
                gemv(format: format, rows: rows, columns: columns, weights: weights, rowBytes: rowBytes,
                     x: x + i * columns, y: y + i * rows, kernel: kernel)
            }
            return
        }
        let panels = (rows + panelRows - 1) / panelRows
        // Each task dequantises its panel into its own thread's scratch and runs a one-thread GEMM on
        // it (inside the pool, Gemm.sgemm does not fan out again).
        Parallel.forEach(panels) { p in
            let j0 = p * panelRows, n = min(panelRows, rows - j0)
            guard let panel = latte_quant_scratch(n * columns) else { fatalError("quantised matmul: out of memory for a \(n)×\(columns) panel") }
            let rc = latte_quant_dequantize_rows(format.rawValue, n, columns, weights + j0 * rowBytes, rowBytes, panel, columns)
            precondition(rc == 0, "quantised matmul: cannot dequantise \(format) rows of \(columns) columns")
            Gemm.sgemm(transposeA: false, transposeB: true, m: m, n: n, k: columns, alpha: 1, a: x, lda: columns,
                       b: panel, ldb: columns, beta: 0, c: y + j0, ldc: rows)
        }
    }

    /// Rows of float32 `x` (`columns` values, rows `ldx` apart) quantised into `format`'s blocks at
    /// weights + j·rowBytes, rounding as ggml's reference quantisers do (see latte_quant.h).
    public static func quantize(format: QuantizedFormat, rows: Int, columns: Int, x: UnsafePointer<Float>, ldx: Int,
                                into weights: UnsafeMutableRawPointer, rowBytes: Int) {
        let rc = latte_quant_quantize_rows(format.rawValue, rows, columns, x, ldx, weights, rowBytes)
        precondition(rc == 0, "quantise: \(columns) columns are not a whole number of 32-weight blocks")
    }

    /// out[j·ld + i] = W[j, i] as float32 for j in 0..<rows, i in 0..<columns.
    public static func dequantize(format: QuantizedFormat, rows: Int, columns: Int, weights: UnsafeRawPointer,
                                  rowBytes: Int, into out: UnsafeMutablePointer<Float>, ld: Int) {
        let rc = latte_quant_dequantize_rows(format.rawValue, rows, columns, weights, rowBytes, out, ld)
        precondition(rc == 0, "quantised dequantise: \(columns) columns are not a whole number of 32-weight blocks")
    }
}

extension GemmKernel {
    /// Whether this family's quantised kernels can run here (AVX-512 also needs VNNI, AVX F16C).
    public var supportsQuantizedKernels: Bool { latte_quant_kind_supported(rawValue) != 0 }
}
