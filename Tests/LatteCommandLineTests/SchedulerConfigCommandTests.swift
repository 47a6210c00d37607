import Foundation
import XCTest

/// `latte generate --scheduler-config`: a diffusers scheduler configuration drives the real command's
/// sampling, and a bad one is refused with the key named. Needs the `latte` executable and the default
/// model's assets (as the README's test command fetches them).
final class SchedulerConfigCommandTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Runs `latte generate` from the repository root; returns the exit status and what it printed.
    func generate(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try LatteExecutable.runMerged(["generate", "--prompt", "sandal", "--count", "1", "--steps", "3"] + arguments, directory: Self.repository)
    }

    func testGenerateWithASchedulerConfiguration() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scheduler-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("scheduler"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data(#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 3.0, "use_dynamic_shifting": true}"#.utf8)
            .write(to: folder.appendingPathComponent("scheduler/scheduler_config.json"))
        let image = folder.appendingPathComponent("out.png")
        let good = try generate(["--scheduler-config", folder.path, "--mu", "1.15", "--output", image.path])
        XCTAssertEqual(good.status, 0, good.output)
        XCTAssertTrue(FileManager.default.fileExists(atPath: image.path), good.output)

        let bad = folder.appendingPathComponent("bad.json")
        try Data(#"{"time_shift_type": "sigmoid"}"#.utf8).write(to: bad)
        let refused = try generate(["--scheduler-config", bad.path, "--output", image.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.output.contains("time_shift_type \"sigmoid\" is not supported"), refused.output)

        let both = try generate(["--scheduler-config", folder.path, "--shift", "2", "--output", image.path])
        XCTAssertNotEqual(both.status, 0)
        XCTAssertTrue(both.output.contains("--shift and --scheduler-config"), both.output)
    }
}
