import ArgumentParser
import Foundation
import LatteKernels

/// GEMM throughput of the pure path against OpenBLAS (loaded with dlopen) in the same run, on the
/// projection shapes of the models: C[M×N] = A[M×K] · Wᵀ with W stored [N, K] as checkpoints store it.
/// M = 1 rows are decode steps and are compared against cblas_sgemv.
struct BenchGemmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gemm", abstract: "GEMM throughput against OpenBLAS measured in the same run.")

    static let defaultShapes = [
        "64x576x576", "64x576x1536", "64x1536x576", "256x576x576", "256x1536x1536", "256x1536x8960",
        "256x8960x1536", "1024x1024x1024", "1x576x1536", "1x1536x8960",
    ]

    @Flag(help: "Print a JSON array instead of a table.")
    var json = false

    @Option(help: "Threads for both libraries (default: LATTE_THREADS or the processor count).")
    var threads: Int?

    @Option(help: "Timed runs per library and shape (alternating); the best one counts.")
    var repeats = 10

    @Option(help: "Comma-separated MxKxN shapes (default: the model shapes).")
    var shapes: String?

    @Flag(help: ArgumentHelp(
        "Time with process CPU time instead of wall time (for tuning on a busy machine; meaningful with --threads 1).",
        visibility: .hidden))
    var cpuTime = false

    @Flag(help: ArgumentHelp("Measure as if OpenBLAS were absent (checks the null output).", visibility: .hidden))
    var withoutOpenblas = false

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1, got \(threads)") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    }

    func run() throws {
        let list = try (shapes.map { $0.split(separator: ",").map(String.init) } ?? Self.defaultShapes).map(parse)
        let threadCount = threads ?? Parallel.threadCount
        Parallel.threadCount = threadCount
        let blas = withoutOpenblas ? nil : OpenBLAS.shared
        if let blas {
            blas.setThreadCount(threadCount)
        } else if withoutOpenblas {
            FileHandle.standardError.write(Data("OpenBLAS disabled by --without-openblas: openblas_gflops and ratio are null\n".utf8))
        } else {
            FileHandle.standardError.write(Data(
                "OpenBLAS could not be loaded (libopenblas.so.0 / libopenblas.so): openblas_gflops and ratio are null. On Debian: apt-get install -y libopenblas0-pthread\n".utf8))
        }
        var rows: [BenchRow] = []
        for shape in list {
            let row = measure(shape, threads: threadCount, blas: blas)
            rows.append(row)
            if !json { FileHandle.standardError.write(Data("\(row.tableLine)\n".utf8)) }
        }
        if json {
            print("[\n" + rows.map { "  " + $0.json }.joined(separator: ",\n") + "\n]")
        } else {
            print("shape (MxKxN)     threads  ours GFLOP/s  OpenBLAS GFLOP/s  ratio")
            for row in rows { print(row.tableLine) }
            print(KernelInfo.summary)
        }
    }

    struct Shape { let m: Int, k: Int, n: Int; var name: String { "\(m)x\(k)x\(n)" } }

    private func parse(_ text: String) throws -> Shape {
        let parts = text.split(separator: "x").compactMap { Int($0) }
        guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("bad shape '\(text)': expected MxKxN with positive integers, e.g. 64x576x1536")
        }
        return Shape(m: parts[0], k: parts[1], n: parts[2])
    }

    private func measure(_ shape: Shape, threads: Int, blas: OpenBLAS?) -> BenchRow {
        let (m, k, n) = (shape.m, shape.k, shape.n)
        let a = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let w = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        let ours = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        let theirs = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { a.deallocate(); w.deallocate(); ours.deallocate(); theirs.deallocate() }
        var state: UInt32 = 12345
        for i in 0..<(m * k) { state = state &* 1_664_525 &+ 1_013_904_223; a[i] = Float(state >> 8) / 16_777_216 - 0.5 }
        for i in 0..<(n * k) { state = state &* 1_664_525 &+ 1_013_904_223; w[i] = Float(state >> 8) / 16_777_216 - 0.5 }

        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        let runOurs = {
            Gemm.sgemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: w, ldb: k,
                       beta: 0, c: ours, ldc: n)
        }
        let runBlas = {
            guard let blas else { return }
            if m == 1 {
                blas.sgemv(transpose: false, m: n, n: k, alpha: 1, a: w, lda: k, x: a, incX: 1, beta: 0, y: theirs,
                           incY: 1)
            } else {
                blas.sgemm(transposeA: false, transposeB: true, m: m, n: n, k: k, alpha: 1, a: a, lda: k, b: w,
                           ldb: k, beta: 0, c: theirs, ldc: n)
            }
        }
        // Warm up both (caches, page faults, thread start-up) and size each timed run to ≥ 20 ms.
        let oursCalls = callsPerRun(runOurs)
        let blasCalls = blas == nil ? 0 : callsPerRun(runBlas)
        // Alternate the two libraries run by run, so both see the same (noisy) machine; pause
        // between them so the other library's spinning threads have parked.
        var oursSeconds = Double.infinity, blasBest = Double.infinity
        for _ in 0..<repeats {
            oursSeconds = min(oursSeconds, timedRun(calls: oursCalls, runOurs))
            if blas != nil {
                usleep(150_000)
                blasBest = min(blasBest, timedRun(calls: blasCalls, runBlas))
                usleep(150_000)
            }
        }
        let blasSeconds: Double? = blas == nil ? nil : blasBest
        if blas != nil {
            var maxDifference: Float = 0
            for i in 0..<(m * n) { maxDifference = max(maxDifference, abs(ours[i] - theirs[i])) }
            if !(maxDifference <= 1e-3 * Float(k).squareRoot()) {
                FileHandle.standardError.write(Data(
                    "warning: \(shape.name): results differ from OpenBLAS by up to \(maxDifference)\n".utf8))
            }
        }
        let oursGflops = flops / oursSeconds / 1e9
        let blasGflops = blasSeconds.map { flops / $0 / 1e9 }
        return BenchRow(shape: shape.name, threads: threads, ours_gflops: round2(oursGflops),
                        openblas_gflops: blasGflops.map(round2), ratio: blasGflops.map { round3(oursGflops / $0) })
    }

    private func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(cpuTime ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// Warms `body` up for 100 ms and returns how many calls make a timed run of ≥ 20 ms.
    private func callsPerRun(_ body: () -> Void) -> Int {
        var once = Double.infinity
        let warmEnd = DispatchTime.now().uptimeNanoseconds + 100_000_000
        repeat {
            once = min(once, timedRun(calls: 1, body))
        } while DispatchTime.now().uptimeNanoseconds < warmEnd
        return max(1, Int(0.02 / max(once, 1e-7)))
    }

    /// Seconds per call over `calls` back-to-back calls.
    private func timedRun(calls: Int, _ body: () -> Void) -> Double {
        let start = now()
        for _ in 0..<calls { body() }
        return Double(now() - start) / 1e9 / Double(calls)
    }

    private func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
    private func round3(_ x: Double) -> Double { (x * 1000).rounded() / 1000 }
}

/// One benchmark result, printed as a JSON object with the issue's keys in the issue's order.
struct BenchRow {
    let shape: String
    let threads: Int
    let ours_gflops: Double
    let openblas_gflops: Double?
    let ratio: Double?

    /// A missing OpenBLAS shows as explicit nulls, not as absent keys.
    var json: String {
        "{\"shape\": \"\(shape)\", \"threads\": \(threads), \"ours_gflops\": \(ours_gflops), "
            + "\"openblas_gflops\": \(openblas_gflops.map { "\($0)" } ?? "null"), "
            + "\"ratio\": \(ratio.map { "\($0)" } ?? "null")}"
    }

    var tableLine: String {
        func pad(_ s: String, _ w: Int) -> String { s.count >= w ? s : s + String(repeating: " ", count: w - s.count) }
        return pad(shape, 18) + pad("\(threads)", 9) + pad(String(format: "%.1f", ours_gflops), 14)
            + pad(openblas_gflops.map { String(format: "%.1f", $0) } ?? "n/a", 18)
            + (ratio.map { String(format: "%.3f", $0) } ?? "n/a")
    }
}
