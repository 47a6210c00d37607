import ArgumentParser
import Foundation
import LatteKernels

/// `latte bench distributed`: what data parallelism over MPI gains on one machine. It runs the default
/// model's recipe (`latte train`'s defaults: Fashion-MNIST, SmolLM2, the default generator) for a short
/// run twice — one process × 2 threads and `mpirun -np 2` × 1 thread, both with 2 gradient shards, so
/// both compute the same model — and reads the steps' wall seconds from rank 0's log (the first steps
/// left out as warm-up). Then it times, under `mpirun -np 2`, the gradient exchange of `ShardedGradients`
/// at the model's parameter count: the all-to-all of the shards' gradients, the sum in shard order and
/// the all-gather; that is the communication in each step. Prints samples/s, their ratio, the
/// communication time per step and its share, and the bandwidth each rank sends at.
///
/// The same executable is the ranks' program of the exchange timing (`--exchange-rank`, hidden).
struct BenchDistributedCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "distributed",
        abstract: "Samples/s of 1 rank × 2 threads against 2 ranks × 1 thread (mpirun) on the default recipe, and the gradient exchange's time and bandwidth.")

    @Option(help: "Steps of each short training run.") var steps = 30
    @Option(help: "Steps left out at the start of each run (warm-up) before taking the median.") var warmupSteps = 5
    @Option(help: "Images the runs train on (the first N of Fashion-MNIST: the latent cache is encoded once, for the first run).") var limit = 2048
    @Option(help: "Latents per step (the recipe's default).") var batch = 32
    @Option(help: "Timed repetitions of the gradient exchange (the median is reported).") var repeats = 5
    @Option(help: "mpirun to launch the ranks with (default: the one on the PATH).") var mpirun: String?
    @Option(help: "Folder for the runs (default: a temporary folder, removed at the end).") var workDir: String?

    @Flag(help: .hidden) var exchangeRank = false
    @Option(help: .hidden) var parameters = 0

    func validate() throws {
        if steps <= warmupSteps { throw ValidationError("--steps (\(steps)) must be more than --warmup-steps (\(warmupSteps))") }
        if limit < batch || batch < 2 { throw ValidationError("--batch must be at least 2 and --limit at least --batch") }
        if repeats < 1 { throw ValidationError("--repeats must be at least 1") }
    }

    func run() throws {
        if exchangeRank { return try timeExchange() }
        // This executable, wherever the shell found it.
        let latte = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        guard let mpirun = mpirun.map({ URL(fileURLWithPath: $0) }) ?? Self.onPath("mpirun") else {
            throw CommandFailure("mpirun not found on the PATH: install Open MPI (apt-get install openmpi-bin libopenmpi-dev) or give --mpirun")
        }
        let temporary = workDir == nil
        let work = workDir.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("latte-bench-distributed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { if temporary { try? FileManager.default.removeItem(at: work) } }
        let launch = ["-np", "2", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none",
                      "--mca", "btl_vader_single_copy_mechanism", "none"]
        func train(_ name: String) -> [String] {
            let dir = work.appendingPathComponent(name)
            return ["train", "--limit", "\(limit)", "--batch", "\(batch)", "--steps", "\(steps)", "--checkpoint-every", "0",
                    "--run-dir", dir.path, "--output", dir.appendingPathComponent("model").path]
        }

        say("1 rank × 2 threads: \(steps) steps of \(batch) (the latent cache of \(limit) images is encoded first)…")
        let one = try Self.execute(latte, train("one") + ["--gradient-shards", "2", "--threads", "2"])
        guard let parameterCount = Self.parameterCount(in: one) else {
            throw CommandFailure("could not read the generator's parameter count from latte train's output:\n\(one.suffix(2000))")
        }
        // The second run reuses the first's latent cache (same settings), so both time training alone.
        try FileManager.default.createDirectory(at: work.appendingPathComponent("two"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: work.appendingPathComponent("one/latents"), to: work.appendingPathComponent("two/latents"))
        say("2 ranks × 1 thread (mpirun)…")
        _ = try Self.execute(mpirun, launch + [latte.path] + train("two") + ["--distributed", "--threads", "1"])
        say("the gradient exchange at \(parameterCount) parameters (mpirun, 2 ranks)…")
        let exchange = try Self.execute(mpirun, launch + [latte.path, "bench", "distributed", "--exchange-rank",
                                                          "--parameters", "\(parameterCount)", "--repeats", "\(repeats)"])
        guard let line = exchange.split(separator: "\n").last(where: { $0.hasPrefix("exchange ") }) else {
            throw CommandFailure("the exchange timing printed no result:\n\(exchange.suffix(2000))")
        }
        let fields = Dictionary(uniqueKeysWithValues: line.dropFirst("exchange ".count).split(separator: " ").compactMap { pair -> (String, Double)? in
            let kv = pair.split(separator: "=")
            return kv.count == 2 ? (String(kv[0]), Double(kv[1]) ?? .nan) : nil
        })

        let oneStep = try Self.medianStepSeconds(work.appendingPathComponent("one/log.jsonl"), skipping: warmupSteps)
        let twoStep = try Self.medianStepSeconds(work.appendingPathComponent("two/log.jsonl"), skipping: warmupSteps)
        let total = fields["total", default: .nan], allToAll = fields["all_to_all", default: .nan]
        let allGather = fields["all_gather", default: .nan], sum = fields["sum", default: .nan]
        // Each rank sends half its shard's gradient in the all-to-all and its summed half in the all-gather.
        let sentBytes = Double(parameterCount) * 4 / 2
        print("""
            distributed training on this machine (\(ProcessInfo.processInfo.activeProcessorCount) cores), default recipe, batch \(batch), \(parameterCount) parameters, median of steps \(warmupSteps + 1)–\(steps)
              1 rank × 2 threads:   \(String(format: "%.3f", oneStep)) s/step  \(String(format: "%.1f", Double(batch) / oneStep)) samples/s
              2 ranks × 1 thread:   \(String(format: "%.3f", twoStep)) s/step  \(String(format: "%.1f", Double(batch) / twoStep)) samples/s
              ratio (2 ranks / 1 rank, samples/s): \(String(format: "%.2f", oneStep / twoStep))×
              communication per step: \(String(format: "%.4f", total)) s (all-to-all \(String(format: "%.4f", allToAll)), sum in shard order \(String(format: "%.4f", sum)), all-gather \(String(format: "%.4f", allGather))) = \(String(format: "%.1f", 100 * total / twoStep)) % of the 2-rank step
              bandwidth per rank: all-to-all \(String(format: "%.2f", sentBytes / allToAll / 1e9)) GB/s, all-gather \(String(format: "%.2f", sentBytes / allGather / 1e9)) GB/s (\(String(format: "%.1f", sentBytes / 1e6)) MB sent in each)
            """)
    }

    /// The ranks' program: times `ShardedGradients.reduce`'s three parts on buffers of the model's size
    /// (2 shards over the ranks), the median of `repeats` after one warm-up; rank 0 prints the result.
    func timeExchange() throws {
        let group: MPIProcessGroup
        do { group = try MPIProcessGroup.start(timeout: 600) } catch let error as MPIError { throw CommandFailure(error.message) }
        defer { group.finish() }
        Parallel.threadCount = 1
        let n = group.size, chunk = (parameters + n - 1) / n
        let send = UnsafeMutablePointer<Float>.allocate(capacity: n * chunk)
        let receive = UnsafeMutablePointer<Float>.allocate(capacity: n * chunk)
        let gathered = UnsafeMutablePointer<Float>.allocate(capacity: n * chunk)
        defer { send.deallocate(); receive.deallocate(); gathered.deallocate() }
        for i in 0..<(n * chunk) { send[i] = Float(i % 977) * 1e-3 }
        var times: [[Double]] = [[], [], []]
        for round in 0...repeats {
            try group.barrier("exchange timing")
            let t0 = DispatchTime.now().uptimeNanoseconds
            try group.allToAll(send, count: chunk, into: receive, "exchange timing")
            let t1 = DispatchTime.now().uptimeNanoseconds
            let mine = gathered + group.rank * chunk
            mine.update(from: receive, count: chunk)
            for shard in 1..<n { for e in 0..<chunk { mine[e] += receive[shard * chunk + e] } }
            let t2 = DispatchTime.now().uptimeNanoseconds
            try group.allGather(UnsafeRawBufferPointer(start: mine, count: chunk * 4),
                                into: UnsafeMutableRawBufferPointer(start: gathered, count: n * chunk * 4), "exchange timing")
            let t3 = DispatchTime.now().uptimeNanoseconds
            if round > 0 {
                times[0].append(Double(t1 - t0) / 1e9)
                times[1].append(Double(t2 - t1) / 1e9)
                times[2].append(Double(t3 - t2) / 1e9)
            }
        }
        guard group.isWriter else { return }
        let m = times.map { $0.sorted()[$0.count / 2] }
        print("exchange all_to_all=\(m[0]) sum=\(m[1]) all_gather=\(m[2]) total=\(m[0] + m[1] + m[2])")
    }

    static func onPath(_ name: String) -> URL? {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { URL(fileURLWithPath: String($0)).appendingPathComponent(name) }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Runs `executable arguments` to the end; its standard output and error together, or an error
    /// with their end when it fails.
    static func execute(_ executable: URL, _ arguments: [String]) throws -> String {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("latte-bench-distributed-\(UUID().uuidString).log")
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: output) }
        let handle = try FileHandle(forWritingTo: output)
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
        guard p.terminationStatus == 0 else {
            throw CommandFailure("\(executable.lastPathComponent) \(arguments.prefix(4).joined(separator: " ")) … failed (status \(p.terminationStatus)):\n\(text.suffix(3000))")
        }
        return text
    }

    /// "(N parameters)" of latte train's "training … groups × … layers" line.
    static func parameterCount(in output: String) -> Int? {
        guard let line = output.split(separator: "\n").first(where: { $0.contains("training ") && $0.contains(" parameters)") }),
              let open = line.range(of: "("), let close = line.range(of: " parameters)") else { return nil }
        return Int(line[open.upperBound..<close.lowerBound])
    }

    /// The median of the logged steps' wall seconds after the first `skip`.
    static func medianStepSeconds(_ log: URL, skipping skip: Int) throws -> Double {
        let seconds = try String(contentsOf: log, encoding: .utf8).split(separator: "\n").compactMap { line -> Double? in
            let o = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            return (o?["seconds"] as? NSNumber)?.doubleValue
        }.dropFirst(skip).sorted()
        guard !seconds.isEmpty else { throw CommandFailure("\(log.path) logs no steps after the first \(skip)") }
        return seconds[seconds.count / 2]
    }
}
