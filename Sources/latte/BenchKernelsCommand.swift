import ArgumentParser
import Foundation
import LatteKernels

/// `latte bench kernels`: throughput of the vector-math kernels per variant (one thread), and
/// flash attention against a naive softmax(QKᵀ)V that materialises the scores with Gemm.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "Vector-math throughput per kernel variant and flash attention against naive attention.")

    @Option(help: "Elements per vector-math call.")
    var length: Int = 1 << 16

    @Option(help: "Attention batch, heads, sequence length and head dim.")
    var attention: String = "1,12,256,64"

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    @Flag(inversion: .prefixedNo, help: "Also time the naive materialised attention (slow while Gemm is unoptimised).")
    var naive = true

    func run() throws {
        let dims = attention.split(separator: ",").compactMap { Int($0) }
        guard dims.count == 4, dims.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--attention wants four positive integers B,H,T,D, got '\(attention)'")
        }
        guard length > 0 else { throw ValidationError("--length must be positive, got \(length)") }
        var records: [String] = []
        let best = VectorMath.variant
        defer { VectorMath.useVariant(best) }

        let n = length
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
        if !json { print("vector math, one thread, \(n) elements per call, Gelem/s of thread CPU time") }
        var header = "kernel".padding(toLength: 22, withPad: " ", startingAt: 0)
        for v in VectorMath.supportedVariants { header += v.description.padding(toLength: 10, withPad: " ", startingAt: 0) }
        if !json { print(header) }
        for (name, body) in kernels {
            var line = name.padding(toLength: 22, withPad: " ", startingAt: 0)
            for v in VectorMath.supportedVariants {
                VectorMath.useVariant(v)
                let seconds = Self.bestTime(CLOCK_THREAD_CPUTIME_ID, body)
                let rate = Double(n) / seconds / 1e9
                line += String(format: "%-10.3f", rate)
                records.append("{\"kernel\": \"\(name)\", \"variant\": \"\(v)\", \"gelem_per_s\": \(rate)}")
            }
            if !json { print(line) }
        }
        VectorMath.useVariant(best)
        try benchAttention(batch: dims[0], heads: dims[1], length: dims[2], headDim: dims[3], records: &records)
        if json { print("[\n  " + records.joined(separator: ",\n  ") + "\n]") }
    }

    /// Seconds on the given clock (CLOCK_MONOTONIC for wall time, CLOCK_THREAD_CPUTIME_ID or
    /// CLOCK_PROCESS_CPUTIME_ID for CPU time, which other processes' load does not inflate).
    static func now(_ clock: clockid_t) -> Double {
        var ts = timespec()
        clock_gettime(clock, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Best of 25 timings of `body` repeated to fill ~2 ms, in seconds per call. Many short trials
    /// and the minimum keep the result stable when other processes share the cores.
    static func bestTime(_ clock: clockid_t, _ body: () -> Void) -> Double {
        body()
        var reps = 1
        while true {
            let t0 = now(clock)
            for _ in 0..<reps { body() }
            if now(clock) - t0 > 0.002 || reps >= 1 << 20 { break }
            reps *= 2
        }
        var best = Double.infinity
        for _ in 0..<25 {
            let t0 = now(clock)
            for _ in 0..<reps { body() }
            best = Swift.min(best, (now(clock) - t0) / Double(reps))
        }
        return best
    }

    func benchAttention(batch: Int, heads: Int, length t: Int, headDim d: Int, records: inout [String]) throws {
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
        let wall = CLOCK_MONOTONIC, cpu = CLOCK_PROCESS_CPUTIME_ID
        let naiveTime = naive ? Self.bestTime(wall, naiveBody) : .nan, naiveCPU = naive ? Self.bestTime(cpu, naiveBody) : .nan
        let flashTime = Self.bestTime(wall, flash(.none, queries: t)), flashCPU = Self.bestTime(cpu, flash(.none, queries: t))
        let causalTime = Self.bestTime(wall, flash(.causal, queries: t)), causalCPU = Self.bestTime(cpu, flash(.causal, queries: t))
        let decodeTime = Self.bestTime(wall, flash(.causal, queries: 1)), decodeCPU = Self.bestTime(cpu, flash(.causal, queries: 1))
        if let failure { throw failure }
        let shape = "B=\(batch) H=\(heads) T=\(t) D=\(d)"
        if json {
            func ms(_ seconds: Double) -> String { seconds.isNaN ? "null" : "\(seconds * 1e3)" }
            records.append("{\"attention\": \"\(shape)\", \"threads\": \(Parallel.threadCount), \"variant\": \"\(VectorMath.variant)\", "
                + "\"naive_ms\": \(ms(naiveTime)), \"flash_ms\": \(ms(flashTime)), \"flash_causal_ms\": \(ms(causalTime)), "
                + "\"decode_ms\": \(ms(decodeTime)), \"naive_cpu_ms\": \(ms(naiveCPU)), \"flash_cpu_ms\": \(ms(flashCPU)), "
                + "\"flash_causal_cpu_ms\": \(ms(causalCPU)), \"decode_cpu_ms\": \(ms(decodeCPU))}")
        } else {
            print("\nattention \(shape), \(Parallel.threadCount) thread(s), \(VectorMath.variant) kernels   wall ms    cpu ms")
            for (name, wallT, cpuT) in [("naive softmax(QKᵀ)V with Gemm", naiveTime, naiveCPU), ("flash, no mask", flashTime, flashCPU),
                                       ("flash, causal", causalTime, causalCPU), ("flash, decode (1 query, causal)", decodeTime, decodeCPU)] {
                print(name.padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: "%9.3f %9.3f", wallT * 1e3, cpuT * 1e3))
            }
            if naive { print(String(format: "flash (no mask) is %.1f× faster than naive (cpu time)", naiveCPU / flashCPU)) }
        }
    }
}
