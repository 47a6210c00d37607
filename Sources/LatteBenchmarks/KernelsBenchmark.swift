import Foundation
import LatteKernels

/// Throughput of the vector-math kernels per variant (one thread), and flash attention against a
/// naive softmax(QKᵀ)V that materialises the scores with Gemm.
public struct KernelsBenchmark {
    /// Attention's batch, heads, sequence length and head dim.
    public struct AttentionShape: Equatable, Sendable {
        public let batch: Int, heads: Int, length: Int, headDim: Int

        public init(batch: Int, heads: Int, length: Int, headDim: Int) {
            (self.batch, self.heads, self.length, self.headDim) = (batch, heads, length, headDim)
        }

        /// "B,H,T,D", e.g. "1,12,256,64".
        public init(parsing text: String) throws {
            let dims = text.split(separator: ",").compactMap { Int($0) }
            guard dims.count == 4, dims.allSatisfy({ $0 > 0 }) else {
                throw BenchmarkOptionError("--attention wants four positive integers B,H,T,D, got '\(text)'")
            }
            self.init(batch: dims[0], heads: dims[1], length: dims[2], headDim: dims[3])
        }
    }

    public struct Options: Sendable {
        /// Elements per vector-math call.
        public var length: Int
        public var attention: AttentionShape
        /// Also time the naive materialised attention.
        public var naive: Bool

        public init(length: Int = 1 << 16, attention: AttentionShape = AttentionShape(batch: 1, heads: 12, length: 256, headDim: 64),
                    naive: Bool = true) {
            self.length = length
            self.attention = attention
            self.naive = naive
        }

        public func validate() throws {
            guard length > 0 else { throw BenchmarkOptionError("--length must be positive, got \(length)") }
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    /// Both measurements; `measured` gets each vector-math row as soon as it is done, for progress.
    public func run(measured: (VectorMathRow) -> Void = { _ in }) throws -> KernelsResult {
        let best = VectorMath.variant
        defer { VectorMath.useVariant(best) }

        let n = options.length
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n), y = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let dy = UnsafeMutablePointer<Float>.allocate(capacity: n), w = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let stats = UnsafeMutablePointer<Float>.allocate(capacity: 2 * n)
        defer { for p in [x, y, dy, w, stats] { p.deallocate() } }
        var state: UInt32 = 12345
        for i in 0..<n {
            state = state &* 1_664_525 &+ 1_013_904_223
            x[i] = Float(state >> 8) / Float(1 << 24) * 16 - 8  // uniform in [−8, 8)
            dy[i] = 1; w[i] = 1
        }
        let cols = 1024, rows = n / cols
        let kernels: [(String, () -> Void)] = [
            ("exp", { VectorMath.exp(x, y, n) }),
            ("log", { VectorMath.log(UnsafePointer(w), y, n) }),
            ("tanh", { VectorMath.tanh(x, y, n) }),
            ("sigmoid", { VectorMath.sigmoid(x, y, n) }),
            ("silu", { VectorMath.silu(x, y, n) }),
            ("geluTanh", { VectorMath.geluTanh(x, y, n) }),
            ("geluErf", { VectorMath.geluErf(x, y, n) }),
            ("siluBackward", { VectorMath.siluBackward(x, dy, y, n) }),
            ("geluTanhBackward", { VectorMath.geluTanhBackward(x, dy, y, n) }),
            ("geluErfBackward", { VectorMath.geluErfBackward(x, dy, y, n) }),
            ("axpy", { VectorMath.axpy(0.5, x, y, n) }),
            ("softmaxRows(1024)", { VectorMath.softmaxRows(x, y, rows: rows, cols: cols) }),
            ("rmsNormRows(1024)", { VectorMath.rmsNormRows(x, weight: w, y, rows: rows, cols: cols, eps: 1e-6, inverseRMS: stats) }),
            ("layerNormRows(1024)", {
                VectorMath.layerNormRows(x, weight: w, bias: dy, y, rows: rows, cols: cols, eps: 1e-5,
                                         mean: stats, inverseStd: stats + rows) }),
        ]
        var vectorMath: [VectorMathRow] = []
        for (name, body) in kernels {
            var rates: [VectorMathRow.Rate] = []
            for v in VectorMath.supportedVariants {
                VectorMath.useVariant(v)
                let seconds = Self.bestTime(CLOCK_THREAD_CPUTIME_ID, body)
                rates.append(.init(variant: v, gelemPerSecond: Double(n) / seconds / 1e9))
            }
            let row = VectorMathRow(kernel: name, rates: rates)
            vectorMath.append(row)
            measured(row)
        }
        VectorMath.useVariant(best)
        return KernelsResult(vectorMath: vectorMath, attention: try measureAttention())
    }

    /// The two header lines of the vector-math table (printed before the rows arrive).
    public static func vectorMathHeader(length: Int) -> String {
        var header = "kernel".padding(toLength: 22, withPad: " ", startingAt: 0)
        for v in VectorMath.supportedVariants { header += v.description.padding(toLength: 10, withPad: " ", startingAt: 0) }
        return "vector math, one thread, \(length) elements per call, Gelem/s of thread CPU time\n" + header
    }

    /// Best of 25 timings of `body` repeated to fill ~2 ms, in seconds per call. Many short trials
    /// and the minimum keep the result stable when other processes share the cores.
    static func bestTime(_ clock: clockid_t, _ body: () -> Void) -> Double {
        body()
        var reps = 1
        while true {
            let t0 = seconds(on: clock)
            for _ in 0..<reps { body() }
            if seconds(on: clock) - t0 > 0.002 || reps >= 1 << 20 { break }
            reps *= 2
        }
        var best = Double.infinity
        for _ in 0..<25 {
            let t0 = seconds(on: clock)
            for _ in 0..<reps { body() }
            best = Swift.min(best, (seconds(on: clock) - t0) / Double(reps))
        }
        return best
    }

    func measureAttention() throws -> AttentionRow {
        let (batch, heads, t, d) = (options.attention.batch, options.attention.heads, options.attention.length, options.attention.headDim)
        let count = batch * heads * t * d
        let q = UnsafeMutablePointer<Float>.allocate(capacity: count), k = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let v = UnsafeMutablePointer<Float>.allocate(capacity: count), out = UnsafeMutablePointer<Float>.allocate(capacity: count)
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: batch * heads * t * t)
        defer { for p in [q, k, v, out, scores] { p.deallocate() } }
        var state: UInt32 = 777
        for p in [q, k, v] {
            for i in 0..<count {
                state = state &* 1_664_525 &+ 1_013_904_223
                p[i] = Float(state >> 8) / Float(1 << 24) * 2 - 1
            }
        }
        let scale = 1 / Float(d).squareRoot()
        let bh = batch * heads
        // Naive: S = scale·Q·Kᵀ per head, softmax over rows, O = S·V ([B, H, T, D] contiguous).
        let naiveBody = {
            Gemm.sgemmBatched(transposeA: false, transposeB: true, m: t, n: t, k: d, alpha: scale,
                              a: q, lda: d, strideA: t * d, b: k, ldb: d, strideB: t * d,
                              beta: 0, c: scores, ldc: t, strideC: t * t, batch: bh)
            VectorMath.softmaxRows(scores, scores, rows: bh * t, cols: t)
            Gemm.sgemmBatched(transposeA: false, transposeB: false, m: t, n: d, k: t, alpha: 1,
                              a: scores, lda: t, strideA: t * t, b: v, ldb: d, strideB: t * d,
                              beta: 0, c: out, ldc: d, strideC: t * d, batch: bh)
        }
        var failure: Error?
        func flash(_ mask: FlashAttention.Mask, queries: Int) -> () -> Void {
            {
                do {
                    try FlashAttention.forward(
                        q: q + (t - queries) * d, k: k, v: v, out: out, batch: batch, queryHeads: heads, kvHeads: heads,
                        queryLength: queries, keyLength: t, headDim: d, scale: scale, mask: mask,
                        qLayout: .bhtd(heads: heads, length: t, headDim: d), kLayout: .bhtd(heads: heads, length: t, headDim: d),
                        vLayout: .bhtd(heads: heads, length: t, headDim: d), outLayout: .bhtd(heads: heads, length: t, headDim: d))
                } catch { failure = error }
            }
        }
        // Wall time, and process CPU time (all threads), which a loaded machine inflates less.
        func timed(_ body: () -> Void) -> AttentionRow.Time {
            AttentionRow.Time(wall: Self.bestTime(CLOCK_MONOTONIC, body), cpu: Self.bestTime(CLOCK_PROCESS_CPUTIME_ID, body))
        }
        let naive = options.naive ? timed(naiveBody) : nil
        let flashTime = timed(flash(.none, queries: t))
        let causal = timed(flash(.causal, queries: t))
        let decode = timed(flash(.causal, queries: 1))
        if let failure { throw failure }
        return AttentionRow(shape: "B=\(batch) H=\(heads) T=\(t) D=\(d)", threads: Parallel.threadCount,
                            variant: VectorMath.variant.description, naive: naive, flash: flashTime, flashCausal: causal,
                            decode: decode)
    }
}
