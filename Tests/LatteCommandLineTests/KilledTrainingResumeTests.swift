import Foundation
import LatteFormats
import XCTest

/// The real `latte train` — the loop users run — killed with SIGKILL mid-run and started again
/// continues with exactly the losses of an uninterrupted run, and its log holds each step once.
///
/// A tiny generator (width 16, 2 groups) on 64 Fashion-MNIST images with the committed autoencoder and
/// the SmolLM2 backbone, checkpointing every step; the hidden `--step-delay-ms` pauses after each logged
/// step, before its checkpoint, so the kill usually lands where the log is ahead of the checkpoint.
/// Needs the `latte` executable (Package.swift makes this target depend on it) and the fashion-mnist and
/// smollm2 assets; without them the test fails, it never skips.
final class KilledTrainingResumeTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func train(_ runDirectory: URL, extra: [String] = []) throws -> Process {
        let p = LatteExecutable.process(["train", "--autoencoder", Self.repository.appendingPathComponent("models/fashion-vae").path,
                       "--limit", "64", "--batch", "4", "--width", "16", "--mlp-width", "24", "--groups", "2",
                       "--steps", "8", "--warmup", "2", "--checkpoint-every", "1", "--threads", "1",
                       "--run-dir", runDirectory.path, "--output", runDirectory.appendingPathComponent("model").path] + extra)
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Every logged value but the wall-clock seconds, per step; a step logged twice is a failure.
    func steps(_ log: URL) throws -> [Int: [String: String]] {
        var out: [Int: [String: String]] = [:]
        for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
            guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let step = (o["step"] as? NSNumber)?.intValue else {
                XCTFail("\(log.path): unreadable line \(line)")
                continue
            }
            XCTAssertNil(out[step], "step \(step) is logged twice")
            out[step] = o.filter { $0.key != "seconds" }.mapValues { "\($0)" }
        }
        return out
    }

    func logged(_ log: URL) -> Int { (try? String(contentsOf: log, encoding: .utf8))?.split(separator: "\n").count ?? 0 }

    func testSIGKILLedTrainRunResumesWithTheUninterruptedLosses() throws {
        try LatteExecutable.require()
        for asset in ["fashion-mnist", "smollm2"] where AssetCache().fileIfPresent(asset: asset) == nil {
            return XCTFail("asset \(asset) absent: run `latte assets fetch fashion-mnist smollm2` first")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }

        let a = dir.appendingPathComponent("a")
        let reference = try train(a)
        reference.waitUntilExit()
        XCTAssertEqual(reference.terminationStatus, 0, "the uninterrupted run failed")
        let expected = try steps(a.appendingPathComponent("log.jsonl"))
        XCTAssertEqual(expected.keys.sorted(), Array(1...8))

        let b = dir.appendingPathComponent("b"), log = b.appendingPathComponent("log.jsonl")
        let victim = try train(b, extra: ["--step-delay-ms", "300"])
        let deadline = Date().addingTimeInterval(300)
        while Date() < deadline, victim.isRunning, logged(log) < 3 { usleep(10_000) }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        XCTAssertEqual(victim.terminationReason, .uncaughtSignal, "the run was killed, not finished")
        let before = logged(log)
        XCTAssertGreaterThanOrEqual(before, 3)
        XCTAssertLessThan(before, 8, "killed before the end")

        let resumed = try train(b)
        resumed.waitUntilExit()
        XCTAssertEqual(resumed.terminationStatus, 0, "the resumed run failed")
        XCTAssertEqual(try steps(log), expected, "killed after \(before) logged steps")
        // Steps the killed run logged after its last checkpoint were dropped on resume, not repeated.
        XCTAssertEqual(logged(log), 8)
        XCTAssertTrue(FileManager.default.fileExists(atPath: b.appendingPathComponent("model/model.json").path), "no exported model folder")
    }
}
