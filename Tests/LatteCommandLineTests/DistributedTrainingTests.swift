import Foundation
import LatteFormats
import XCTest

/// `mpirun -np 2 latte train … --distributed` trains the same model as one process at the same global
/// batch: every logged value of every step (loss, per-group losses, gradient norm, learning rate) and
/// the final checkpoint's weights, optimiser moments and EMA, byte for byte. The one process uses two
/// threads and the two ranks one each, so this also checks that the kernels' results do not depend on
/// the thread count. Both compute each batch as 2 gradient shards summed in shard order
/// (`ShardedGradients`), which is what makes the result independent of the number of ranks.
///
/// Then a rank of a third 2-rank run is SIGKILLed mid-run: the job ends with an error instead of
/// hanging, and the same command run again resumes from rank 0's last checkpoint and logs exactly the
/// uninterrupted run's steps.
///
/// The latent cache the two ranks encode between them (each its share of the shards) is checked to be
/// the one process's, byte for byte.
///
/// The tiny configuration of `KilledTrainingResumeTests` (needs the fashion-mnist and smollm2 assets).
/// Needs Open MPI's `mpirun` on the PATH: without it the test is skipped with a message, and fails
/// under CI=true (.ci/run installs Open MPI).
final class DistributedTrainingTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    var latte: URL { LatteExecutable.url }

    static var mpirun: URL? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { URL(fileURLWithPath: String($0)).appendingPathComponent("mpirun") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    func trainArguments(_ runDirectory: URL, checkpointEvery: Int = 2) -> [String] {
        ["train", "--autoencoder", Self.repository.appendingPathComponent("models/fashion-vae").path,
         "--limit", "64", "--batch", "4", "--width", "16", "--mlp-width", "24", "--groups", "2",
         "--steps", "6", "--warmup", "2", "--checkpoint-every", "\(checkpointEvery)",
         // 4 latent-cache shards of 16 images: under mpirun each rank encodes 2 of them.
         "--latent-shard-items", "16",
         "--run-dir", runDirectory.path, "--output", runDirectory.appendingPathComponent("model").path]
    }

    /// Runs `executable arguments` to the end (at most `seconds`); returns its status and standard error.
    func run(_ executable: URL, _ arguments: [String], seconds: Double = 600) throws -> (status: Int32, stderr: String) {
        let p = Process()
        p.executableURL = executable
        p.arguments = arguments
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("latte-mpi-stderr-\(UUID().uuidString)")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: errors)
        try p.run()
        let deadline = Date().addingTimeInterval(seconds)
        while p.isRunning && Date() < deadline { usleep(50_000) }
        if p.isRunning {
            p.terminate()
            XCTFail("\(executable.lastPathComponent) \(arguments.prefix(3).joined(separator: " ")) … still running after \(Int(seconds)) s")
        }
        p.waitUntilExit()
        return (p.terminationStatus, (try? String(contentsOf: errors, encoding: .utf8)) ?? "")
    }

    func mpirunArguments(ranks: Int) -> [String] {
        ["-np", "\(ranks)", "--oversubscribe", "--allow-run-as-root", "--bind-to", "none",
         // Containers often forbid the cross-memory-attach copy of the shared-memory transport.
         "--mca", "btl_vader_single_copy_mechanism", "none", latte.path]
    }

    /// Every logged value but the wall-clock seconds, per step.
    func steps(_ log: URL) throws -> [Int: [String: String]] {
        var out: [Int: [String: String]] = [:]
        for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
            let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let step = try XCTUnwrap((o["step"] as? NSNumber)?.intValue)
            XCTAssertNil(out[step], "step \(step) is logged twice")
            out[step] = o.filter { $0.key != "seconds" }.mapValues { "\($0)" }
        }
        return out
    }

    func requirements() throws -> URL {
        try LatteExecutable.require()
        for asset in ["fashion-mnist", "smollm2"] where AssetCache().fileIfPresent(asset: asset) == nil {
            XCTFail("asset \(asset) absent: run `latte assets fetch fashion-mnist smollm2` first")
            throw XCTSkip("asset \(asset) absent")
        }
        guard let mpirun = Self.mpirun else {
            let message = "mpirun not found on the PATH: install Open MPI (`apt-get install openmpi-bin libopenmpi-dev`) to test `latte train --distributed`"
            if ProcessInfo.processInfo.environment["CI"] == "true" { XCTFail(message) }
            throw XCTSkip(message)
        }
        return mpirun
    }

    func testTwoRanksTrainTheModelOfOneProcess() throws {
        let mpirun = try requirements()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-mpi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }

        let one = dir.appendingPathComponent("one")
        let single = try run(latte, trainArguments(one) + ["--gradient-shards", "2", "--threads", "2"])
        XCTAssertEqual(single.status, 0, "one process failed:\n\(single.stderr)")

        let two = dir.appendingPathComponent("two")
        let ranks = try run(mpirun, mpirunArguments(ranks: 2) + trainArguments(two) + ["--distributed", "--threads", "1"])
        XCTAssertEqual(ranks.status, 0, "mpirun -np 2 failed:\n\(ranks.stderr)")
        XCTAssertTrue(ranks.stderr.contains("distributed: 2 ranks"), ranks.stderr)

        let expected = try steps(one.appendingPathComponent("log.jsonl"))
        XCTAssertEqual(expected.keys.sorted(), Array(1...6))
        XCTAssertEqual(try steps(two.appendingPathComponent("log.jsonl")), expected)
        for file in ["model.safetensors", "optimizer.safetensors", "ema.safetensors"] {
            let a = try Data(contentsOf: one.appendingPathComponent("checkpoint/\(file)"))
            let b = try Data(contentsOf: two.appendingPathComponent("checkpoint/\(file)"))
            XCTAssertTrue(a == b, "checkpoint/\(file) differs between one process and two ranks")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: two.appendingPathComponent("model/model.json").path), "rank 0 exported no model folder")
        // The latent cache the two ranks encoded between them is the one process's, byte for byte.
        let cacheFiles = try FileManager.default.contentsOfDirectory(atPath: one.appendingPathComponent("latents").path).sorted()
        XCTAssertEqual(cacheFiles, ["manifest.json"] + (0..<4).map { String(format: "shard-%05d.safetensors", $0) })
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: two.appendingPathComponent("latents").path).sorted(), cacheFiles,
                       "the distributed cache holds other files (a shard note left behind?)")
        for file in cacheFiles {
            let a = try Data(contentsOf: one.appendingPathComponent("latents/\(file)"))
            let b = try Data(contentsOf: two.appendingPathComponent("latents/\(file)"))
            XCTAssertTrue(a == b, "latents/\(file) differs between one process and two ranks")
        }

        // A rank killed mid-run takes the job down; the rerun resumes with the uninterrupted losses.
        let three = dir.appendingPathComponent("three"), log = three.appendingPathComponent("log.jsonl")
        let arguments = mpirunArguments(ranks: 2) + trainArguments(three) + ["--distributed", "--threads", "1"]
        let job = Process()
        job.executableURL = mpirun
        job.arguments = mpirunArguments(ranks: 2) + trainArguments(three, checkpointEvery: 1) + ["--distributed", "--threads", "1", "--step-delay-ms", "400"]
        job.standardOutput = FileHandle.nullDevice
        job.standardError = FileHandle.nullDevice
        try job.run()
        var deadline = Date().addingTimeInterval(400)
        while Date() < deadline, job.isRunning, logged(log) < 3 { usleep(20_000) }
        let ranksOfJob = children(of: job.processIdentifier)
        XCTAssertEqual(ranksOfJob.count, 2, "mpirun's rank processes: \(ranksOfJob)")
        let before = logged(log)
        if let victim = ranksOfJob.last { kill(victim, SIGKILL) }
        deadline = Date().addingTimeInterval(120)
        while Date() < deadline, job.isRunning { usleep(20_000) }
        XCTAssertFalse(job.isRunning, "the job still runs 120 s after one of its ranks was killed")
        if job.isRunning { job.terminate() }
        job.waitUntilExit()
        XCTAssertNotEqual(job.terminationStatus, 0, "a job with a killed rank must fail")
        XCTAssertGreaterThanOrEqual(before, 3)
        XCTAssertLessThan(before, 6, "killed before the end")

        let resumed = try run(mpirun, arguments)
        XCTAssertEqual(resumed.status, 0, "the rerun failed:\n\(resumed.stderr)")
        XCTAssertTrue(resumed.stderr.contains("resuming"), resumed.stderr)
        XCTAssertEqual(try steps(log), expected, "killed after \(before) logged steps")
    }

    /// `latte train-vae --distributed` on 2 ranks × 1 thread trains the autoencoder of one process ×
    /// 2 threads with the same 2 gradient shards: every logged value and the checkpoint's weights,
    /// moments and EMA, byte for byte. A tiny autoencoder (8/16 channels, 2 levels) on Fashion-MNIST,
    /// 4 steps of 4 images, so the convolutions' backward (whose weight gradient used to be summed per
    /// thread) is what this checks, in seconds.
    func testTrainVAEOnTwoRanksEqualsOneProcess() throws {
        let mpirun = try requirements()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-mpi-vae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent("config.json")
        try Data(#"{"in_channels": 1, "out_channels": 1, "block_out_channels": [8, 16], "layers_per_block": 1, "latent_channels": 4, "norm_num_groups": 4, "sample_size": 32}"#.utf8).write(to: config)
        func arguments(_ run: URL) -> [String] {
            ["train-vae", "--config", config.path, "--steps", "4", "--batch", "4", "--warmup", "1", "--checkpoint-every", "2",
             "--dtype", "f32", "--run-dir", run.path, "--output", run.appendingPathComponent("model").path]
        }
        let one = dir.appendingPathComponent("one")
        let single = try run(latte, arguments(one) + ["--gradient-shards", "2", "--threads", "2"])
        XCTAssertEqual(single.status, 0, "one process failed:\n\(single.stderr)")
        let two = dir.appendingPathComponent("two")
        let ranks = try run(mpirun, mpirunArguments(ranks: 2) + arguments(two) + ["--distributed", "--threads", "1"])
        XCTAssertEqual(ranks.status, 0, "mpirun -np 2 failed:\n\(ranks.stderr)")
        XCTAssertTrue(ranks.stderr.contains("distributed: 2 ranks"), ranks.stderr)

        let expected = try steps(one.appendingPathComponent("log.jsonl"))
        XCTAssertEqual(expected.keys.sorted(), Array(1...4))
        XCTAssertEqual(try steps(two.appendingPathComponent("log.jsonl")), expected)
        for file in ["model.safetensors", "optimizer.safetensors", "ema.safetensors"] {
            let a = try Data(contentsOf: one.appendingPathComponent("checkpoint/\(file)"))
            let b = try Data(contentsOf: two.appendingPathComponent("checkpoint/\(file)"))
            XCTAssertTrue(a == b, "checkpoint/\(file) differs between one process and two ranks")
        }
        XCTAssertTrue(FileManager.default.fileExists(atPath: two.appendingPathComponent("model/config.json").path), "rank 0 saved no model")
    }

    func logged(_ log: URL) -> Int { (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0 }

    /// Processes whose parent is `pid` (mpirun starts the ranks of a one-machine job itself).
    func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { child in
            guard let stat = try? String(contentsOfFile: "/proc/\(child)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { return false }
            // Fields after "(comm)": state, ppid, …
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == pid
        }.sorted()
    }

    /// `--distributed` without a launcher is a clear error, not a hang or a one-rank run.
    func testDistributedWithoutALauncherIsAnError() throws {
        _ = try requirements()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-mpi-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try run(latte, trainArguments(dir) + ["--distributed"], seconds: 120)
        XCTAssertNotEqual(result.status, 0)
        XCTAssertTrue(result.stderr.contains("not started by an MPI launcher"), result.stderr)
    }
}
