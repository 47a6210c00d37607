import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTestSupport
import XCTest

/// `latte eval understanding` and `latte generate --describe` on tiny random projector weights over the
/// pinned encoder and SmolLM2: the commands run, the JSON report has its shape, every verdict follows
/// the matching rule (random weights babble, and babble is scored wrong), and a folder without vision
/// weights is refused by name.
final class VisionUnderstandingCommandTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try LatteExecutable.run(arguments)
    }

    /// A folder with tiny random vision weights (input 64, 2×2 tokens); `generator` also copies the
    /// default model's generator files, so the folder generates too.
    func folder(generator: Bool) throws -> URL {
        // root/latteflow-fashion beside a link root/fashion-vae: model.json names its autoencoder "../fashion-vae".
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("vision-understanding-\(UUID().uuidString)")
        let dir = root.appendingPathComponent("latteflow-fashion")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        if generator {
            try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("fashion-vae"),
                                                       withDestinationURL: Self.repository.appendingPathComponent("models/fashion-vae"))
            let model = Self.repository.appendingPathComponent("models/latteflow-fashion")
            for name in try FileManager.default.contentsOfDirectory(atPath: model.path) where name.hasSuffix(".json") || name.hasSuffix(".safetensors") {
                try FileManager.default.copyItem(at: model.appendingPathComponent(name), to: dir.appendingPathComponent(name))
            }
        }
        var g = RandomGenerator(seed: 3)
        let projector = ImageTokenProjector(encoderChannels: 1280, width: 576, generator: &g)
        try VisionModelConfiguration(inputSize: 64, grid: 2, encoderChannels: 1280, width: 576).save(projector: projector, to: dir)
        return dir
    }

    func requireCommandAndAssets(_ names: [String]) throws {
        try LatteExecutable.require()
        for name in names { _ = try PinnedAssets.require(name) }
    }

    func testEvalUnderstandingReportsEveryTaskAndScoresBabbleWrong() throws {
        try requireCommandAndAssets(["smollm2", "efficientnet-lite0", "fashion-mnist", "mnist-5k", "emojione", "twemoji", "unicode-emoji", "cldr-annotations"])
        let dir = try folder(generator: false)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let r = try run(["eval", "understanding", "--model", dir.path, "--images", "2", "--json", "--threads", "1", "--speed-tokens", "4"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let tasks = try XCTUnwrap(json["tasks"] as? [String: [String: Any]])
        XCTAssertEqual(Set(tasks.keys), ["fashion.what", "fashion.kind", "fashion.footwear", "digit.which", "emoji.name", "emoji.category", "emoji.colour"])
        for (task, score) in tasks {
            XCTAssertNotNil(score["accuracy"] as? Double, task)
            XCTAssertNotNil(score["chance"] as? Double, task)
        }
        XCTAssertEqual(tasks["fashion.what"]?["count"] as? Int, 2)
        XCTAssertTrue((json["matching_rule"] as? String ?? "").contains("fashion.footwear: its first word"))
        XCTAssertEqual((json["fashion_synonyms"] as? [[String]])?.count, 10)
        let speed = try XCTUnwrap(json["speed"] as? [String: Any])
        XCTAssertEqual(speed["threads"] as? Int, 1)
        XCTAssertGreaterThan(speed["time_to_first_token_seconds"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(speed["tokens_per_second"] as? Double ?? 0, 0)
        XCTAssertGreaterThan(json["peak_resident_bytes"] as? Int ?? 0, 100_000_000, "SmolLM2 alone is larger")
        let examples = try XCTUnwrap(json["examples"] as? [[String: Any]])
        XCTAssertFalse(examples.isEmpty)
        var wrong = 0
        for e in examples {
            let (task, answer, expected) = (e["task"] as! String, e["answer"] as! String, e["expected"] as! String)
            XCTAssertEqual(e["correct"] as? Bool, VisionEvaluation.judge(task: task, answer: answer, expected: expected), "\(task): \(answer)")
            if e["correct"] as? Bool == false { wrong += 1 }
        }
        XCTAssertGreaterThan(wrong, examples.count / 2, "random weights must not look competent: \(examples.map { $0["answer"]! })")

        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("no-vision-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let refused = try run(["eval", "understanding", "--model", empty.path])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("has no vision weights"), refused.stderr)
    }

    /// `--tasks fashion.what` asks only that task (the 10k-image target's protocol); a task no chosen set
    /// asks is refused by name.
    func testTasksOptionAsksOnlyTheChosenTasks() throws {
        try requireCommandAndAssets(["smollm2", "efficientnet-lite0", "fashion-mnist"])
        let dir = try folder(generator: false)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let r = try run(["eval", "understanding", "--model", dir.path, "--sets", "fashion", "--tasks", "fashion.what", "--images", "3",
                         "--skip-speed", "--json", "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let tasks = try XCTUnwrap(json["tasks"] as? [String: [String: Any]])
        XCTAssertEqual(Set(tasks.keys), ["fashion.what"])
        XCTAssertEqual(tasks["fashion.what"]?["count"] as? Int, 3)
        let examples = try XCTUnwrap(json["examples"] as? [[String: Any]])
        XCTAssertEqual(Set(examples.map { $0["task"] as? String }), ["fashion.what"])

        let refused = try run(["eval", "understanding", "--model", dir.path, "--sets", "fashion", "--tasks", "digit.which"])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--tasks: digit.which not asked by the sets fashion"), refused.stderr)
    }

    func testGenerateDescribePrintsAnAnswerPerImage() throws {
        try requireCommandAndAssets(["smollm2", "efficientnet-lite0"])
        let dir = try folder(generator: true)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let output = dir.appendingPathComponent("boots.png").path
        let r = try run(["generate", "--model", dir.path, "--prompt", "an ankle boot", "--count", "2", "--steps", "2", "--describe",
                         "--output", output, "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: output))
        let lines = r.stdout.split(separator: "\n").filter { $0.hasPrefix(output + " #") }
        XCTAssertEqual(lines.count, 2, r.stdout)
        XCTAssertTrue(lines[0].contains("#1 (row 1, column 1; \"an ankle boot\", seed 0): "), r.stdout)
        XCTAssertTrue(lines[1].contains("#2 (row 1, column 2; \"an ankle boot\", seed 1): "), r.stdout)

        try FileManager.default.removeItem(at: dir.appendingPathComponent(VisionModelConfiguration.fileName))
        let refused = try run(["generate", "--model", dir.path, "--prompt", "an ankle boot", "--count", "1", "--describe", "--output", output])
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("--describe: \(dir.path) has no vision weights"), refused.stderr)
    }

    func testSelfConsistencyJudgesGeneratedImagesTwice() throws {
        try requireCommandAndAssets(["smollm2", "efficientnet-lite0", "mnist-5k"])
        let dir = try folder(generator: true)
        defer { try? FileManager.default.removeItem(at: dir.deletingLastPathComponent()) }
        let classifier = Self.repository.appendingPathComponent("models/fashion-classifier").path
        let r = try run(["eval", "understanding", "--model", dir.path, "--sets", "digits", "--images", "1", "--skip-speed", "--json",
                         "--generated", "1", "--steps", "2", "--classifier", classifier, "--threads", "1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        let c = try XCTUnwrap(json["self_consistency"] as? [String: Any], r.stdout)
        XCTAssertEqual(c["images"] as? Int, 10)
        for key in ["vision_names_prompted_class", "classifier_accuracy", "judges_agree"] {
            let v = try XCTUnwrap(c[key] as? Double, key)
            XCTAssertTrue((0...1).contains(v), "\(key) \(v)")
        }
        XCTAssertEqual((c["per_class_vision"] as? [String: Double])?.count, 10)
    }
}
