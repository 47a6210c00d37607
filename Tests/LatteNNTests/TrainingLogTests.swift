import Foundation
import LatteNN
import XCTest

final class TrainingLogTests: XCTestCase {
    struct Line: Encodable { let step: Int; let loss: Float }

    func temporaryLog() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("latte-log-\(UUID().uuidString).jsonl")
    }

    func testAppendsAndReadsBackASeries() throws {
        let url = temporaryLog()
        defer { try? FileManager.default.removeItem(at: url) }
        let log = try TrainingLog(url: url)
        for s in 1...3 { try log.append(Line(step: s, loss: Float(s) / 4)) }
        log.close()
        let points = TrainingLog.series(in: url, x: "step", y: "loss")
        XCTAssertEqual(points.map(\.0), [1, 2, 3])
        XCTAssertEqual(points.map(\.1), [0.25, 0.5, 0.75])
        XCTAssertTrue(TrainingLog.series(in: url, x: "step", y: "missing").isEmpty)
    }

    /// A run killed after logging steps 1…5 but checkpointing at 3: resuming at 3 drops 4 and 5, keeps
    /// lines without a step (notes), and the resumed run's lines follow.
    func testResumingDropsTheStepsAfterTheCheckpoint() throws {
        let url = temporaryLog()
        defer { try? FileManager.default.removeItem(at: url) }
        let killed = try TrainingLog(url: url)
        for s in 1...5 { try killed.append(Line(step: s, loss: 1)) }
        try killed.append(["note": "no step"])
        killed.close()

        let resumed = try TrainingLog(url: url, resumingAt: 3)
        try resumed.append(Line(step: 4, loss: 2))
        resumed.close()
        XCTAssertEqual(TrainingLog.series(in: url, x: "step", y: "loss").map { [Float($0.0), $0.1] },
                       [[1, 1], [2, 1], [3, 1], [4, 2]])
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("no step"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.appendingPathExtension("partial").path))
    }

    func testResumingWithoutALogStartsOne() throws {
        let url = temporaryLog()
        defer { try? FileManager.default.removeItem(at: url) }
        let log = try TrainingLog(url: url, resumingAt: 10)
        try log.append(Line(step: 11, loss: 0.5))
        log.close()
        XCTAssertEqual(TrainingLog.series(in: url, x: "step", y: "loss").map(\.0), [11])
    }
}
