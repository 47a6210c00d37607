import Foundation
import LatteKernels

/// GEMM throughput of the pure path against OpenBLAS (loaded with dlopen) in the same run, on the
/// projection shapes of the models: C[M×N] = A[M×K] · Wᵀ with W stored [N, K] as checkpoints store it.
/// M = 1 rows are decode steps and are compared against cblas_sgemv.
public struct GemmBenchmark {
    /// One product's size: A is M×K, W is N×K, C is M×N.
    public struct Shape: Equatable, Sendable {
        public let m: Int, k: Int, n: Int
        public var name: String { "\(m)x\(k)x\(n)" }

        public init(m: Int, k: Int, n: Int) { (self.m, self.k, self.n) = (m, k, n) }

        /// "MxKxN", e.g. "64x576x1536".
        public init(parsing text: String) throws {
            let parts = text.split(separator: "x").compactMap { Int($0) }
            guard parts.count == 3, parts.allSatisfy({ $0 > 0 }) else {
                throw BenchmarkOptionError("bad shape '\(text)': expected MxKxN with positive integers, e.g. 64x576x1536")
            }
            self.init(m: parts[0], k: parts[1], n: parts[2])
        }

        /// A comma-separated list of "MxKxN".
        public static func list(parsing text: String) throws -> [Shape] {
            try text.split(separator: ",").map { try Shape(parsing: String($0)) }
        }
    }

    /// SmolLM2's and Qwen2's projections at prompt lengths 64 and 256, a square reference, and two decode steps.
    public static let defaultShapes: [Shape] = [
        (64, 576, 576), (64, 576, 1536), (64, 1536, 576), (256, 576, 576), (256, 1536, 1536), (256, 1536, 8960),
        (256, 8960, 1536), (1024, 1024, 1024), (1, 576, 1536), (1, 1536, 8960),
    ].map { Shape(m: $0.0, k: $0.1, n: $0.2) }

    public struct Options: Sendable {
        public var shapes: [Shape]
        /// Threads for both libraries; nil keeps LATTE_THREADS or the processor count.
        public var threads: Int?
        /// Timed runs per library and shape (alternating); the best one counts.
        public var repeats: Int
        /// Process CPU time instead of wall time: for tuning on a busy machine, meaningful with one thread.
        public var cpuTime: Bool
        /// Measure as if OpenBLAS were absent (checks the null output).
        public var withoutOpenBLAS: Bool

        public init(shapes: [Shape] = GemmBenchmark.defaultShapes, threads: Int? = nil, repeats: Int = 10,
                    cpuTime: Bool = false, withoutOpenBLAS: Bool = false) {
            self.shapes = shapes
            self.threads = threads
            self.repeats = repeats
            self.cpuTime = cpuTime
            self.withoutOpenBLAS = withoutOpenBLAS
        }

        public func validate() throws {
            if let threads, threads < 1 { throw BenchmarkOptionError("--threads must be at least 1, got \(threads)") }
            if repeats < 1 { throw BenchmarkOptionError("--repeats must be at least 1, got \(repeats)") }
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    /// Measures every shape. `note` hears why the OpenBLAS columns are null, when they are; `measured`
    /// gets each row as soon as it is done, for progress on long runs.
    public func run(note: (String) -> Void = { _ in }, measured: (GemmRow) -> Void = { _ in }) -> [GemmRow] {
        let threadCount = options.threads ?? Parallel.threadCount
        Parallel.threadCount = threadCount
        let blas = options.withoutOpenBLAS ? nil : OpenBLAS.shared
        if let blas {
            blas.setThreadCount(threadCount)
        } else if options.withoutOpenBLAS {
            note("OpenBLAS disabled by --without-openblas: openblas_gflops and ratio are null")
        } else {
            note("OpenBLAS could not be loaded (libopenblas.so.0 / libopenblas.so): openblas_gflops and ratio are null. On Debian: apt-get install -y libopenblas0-pthread")
        }
        var rows: [GemmRow] = []
        for shape in options.shapes {
            let row = measure(shape, threads: threadCount, blas: blas, note: note)
            rows.append(row)
            measured(row)
        }
        return rows
    }

    /// The readable table: a header, one line per shape, and the CPU features and kernels in use.
    public static func table(_ rows: [GemmRow]) -> String {
        (["shape (MxKxN)     threads  ours GFLOP/s  OpenBLAS GFLOP/s  ratio"] + rows.map(\.tableLine) + [KernelInfo.summary])
            .joined(separator: "\n")
    }

    /// A JSON array, one object per line.
    public static func json(_ rows: [GemmRow]) -> String {
        "[\n" + rows.map { "  " + $0.json }.joined(separator: ",\n") + "\n]"
    }

    private func measure(_ shape: Shape, threads: Int, blas: OpenBLAS?, note: (String) -> Void) -> GemmRow {
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
        for _ in 0..<options.repeats {
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
                note("warning: \(shape.name): results differ from OpenBLAS by up to \(maxDifference)")
            }
        }
        let oursGflops = flops / oursSeconds / 1e9
        let blasGflops = blasSeconds.map { flops / $0 / 1e9 }
        return GemmRow(shape: shape.name, threads: threads, oursGFLOPS: round2(oursGflops),
                       openBLASGFLOPS: blasGflops.map(round2), ratio: blasGflops.map { round3(oursGflops / $0) })
    }

    private func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(options.cpuTime ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC, &ts)
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
