import XCTest
import LatteFlow
import LatteNN
import LatteTensor

/// The input skip of the output heads and the absolute position table (GeneratorConfiguration's
/// `inputSkip` and `absolutePositions`).
final class GeneratorInputTests: XCTestCase {
    func testSincosTableEncodesRowThenColumn() {
        let (h, w, width) = (3, 4, 16)
        let table = LatentPatches.sincosPositions(gridHeight: h, gridWidth: w, width: width)
        XCTAssertEqual(table.shape, [1, h * w, width])
        let v = table.toArray()
        func token(_ r: Int, _ c: Int) -> [Float] { Array(v[((r * w + c) * width)..<((r * w + c + 1) * width)]) }
        // Position 0 is sin 0 = 0 then cos 0 = 1 in both halves.
        XCTAssertEqual(token(0, 0), [0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1])
        // The first half depends only on the row, the second only on the column.
        XCTAssertEqual(Array(token(2, 1)[0..<8]), Array(token(2, 3)[0..<8]))
        XCTAssertEqual(Array(token(0, 3)[8..<16]), Array(token(2, 3)[8..<16]))
        XCTAssertNotEqual(Array(token(1, 0)[0..<8]), Array(token(2, 0)[0..<8]))
        // Frequency 0 of row 1: sin(1), cos(1); frequency 1: 10000^(−1/4).
        XCTAssertEqual(token(1, 0)[0], sin(1), accuracy: 1e-6)
        XCTAssertEqual(token(1, 0)[4], cos(1), accuracy: 1e-6)
        XCTAssertEqual(token(1, 0)[1], sin(1 / Float(10)), accuracy: 1e-6)
        // Every token differs from every other.
        let all = (0..<h).flatMap { r in (0..<w).map { token(r, $0) } }
        XCTAssertEqual(Set(all.map { $0.map(\.bitPattern) }).count, h * w)
    }

    func testUntrainedModelStillPredictsZeroAndOldConfigurationsLoadWithout() throws {
        var c = tinyConfiguration()
        c.inputSkip = true
        c.absolutePositions = true
        let m = try LayerwiseTimestepExperts(c)
        XCTAssertTrue(m.namedParameters().contains { $0.key.hasSuffix("heads.0.skip.weight") })
        let v = m.velocity(Tensor.randomNormal([1, 2, 4, 4], seed: 1), t: [0.3], prompt: randomPrompt(c, length: 3, seed: 2), group: 0)
        XCTAssertTrue(v.toArray().allSatisfy { $0 == 0 }, "the skip starts at zero")

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("gen-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try c.save(to: url)
        let text = try String(contentsOf: url, encoding: .utf8)
        XCTAssertTrue(text.contains("\"input_skip\" : true") && text.contains("\"absolute_positions\" : true"), text)
        XCTAssertEqual(try GeneratorConfiguration.load(from: url), c)
        // A configuration saved before these options existed means neither.
        let old = text.replacingOccurrences(of: "\"input_skip\" : true,", with: "").replacingOccurrences(of: "\"absolute_positions\" : true,", with: "")
        try old.write(to: url, atomically: true, encoding: .utf8)
        let loaded = try GeneratorConfiguration.load(from: url)
        XCTAssertFalse(loaded.inputSkip)
        XCTAssertFalse(loaded.absolutePositions)
        XCTAssertFalse(try LayerwiseTimestepExperts(loaded).namedParameters().contains { $0.key.contains("skip") })
    }

    func testGradientsReachTheSkipAndMatchFiniteDifferences() throws {
        try checkGeneratorGradients(.preSoftmax, inputSkip: true, absolutePositions: true)
    }
}
