import Foundation
import XCTest

/// A real training process killed with SIGKILL mid-run and started again continues with exactly the
/// losses of an uninterrupted run (the trainer checkpoints every step of `latte train-tiny`).
final class KilledTrainingResumeTests: XCTestCase {
    /// The `latte` executable built beside this test bundle.
    var latte: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("latte")
    }

    func run(_ arguments: [String]) throws -> Process {
        let p = Process()
        p.executableURL = latte
        p.arguments = arguments
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Loss per step from a run's log; a step logged twice (logged, then killed before its checkpoint)
    /// keeps its last entry.
    func losses(_ log: URL) throws -> [Int: Double] {
        var out: [Int: Double] = [:]
        for line in try String(contentsOf: log, encoding: .utf8).split(separator: "\n") {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            out[(o["step"] as! NSNumber).intValue] = (o["loss"] as! NSNumber).doubleValue
        }
        return out
    }

    func testSIGKILLedRunResumesWithTheUninterruptedLosses() throws {
        guard FileManager.default.isExecutableFile(atPath: latte.path) else {
            throw XCTSkip("no latte executable beside the test bundle at \(latte.path)")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-kill-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let steps = 8
        let reference = try run(["train-tiny", "--run-dir", dir.appendingPathComponent("a").path, "--steps", "\(steps)"])
        reference.waitUntilExit()
        XCTAssertEqual(reference.terminationStatus, 0)
        let expected = try losses(dir.appendingPathComponent("a/log.jsonl"))
        XCTAssertEqual(expected.count, steps)

        let b = dir.appendingPathComponent("b"), log = b.appendingPathComponent("log.jsonl")
        let victim = try run(["train-tiny", "--run-dir", b.path, "--steps", "\(steps)", "--step-delay-ms", "250"])
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline, ((try? losses(log))?.count ?? 0) < 3 { usleep(20_000) }
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        XCTAssertEqual(victim.terminationReason, .uncaughtSignal, "the run was killed, not finished")
        let before = try losses(log).count
        XCTAssertLessThan(before, steps, "killed before the end")

        let resumed = try run(["train-tiny", "--run-dir", b.path, "--steps", "\(steps)"])
        resumed.waitUntilExit()
        XCTAssertEqual(resumed.terminationStatus, 0)
        XCTAssertEqual(try losses(log), expected, "killed after \(before) logged steps")
        // The steps the killed run logged after its last checkpoint were dropped on resume, not repeated.
        XCTAssertEqual(try String(contentsOf: log, encoding: .utf8).split(separator: "\n").count, steps)
    }
}
