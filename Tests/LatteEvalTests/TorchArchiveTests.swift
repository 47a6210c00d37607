import Foundation
import LatteFormats
import LatteTensor
import XCTest
import LatteTestSupport
@testable import LatteEval

/// The torch-free reader of the TorchScript archive: structure, geometry, and refusal of bad input.
final class TorchArchiveTests: XCTestCase {
    func testReadsTheFIDArchiveStructure() throws {
        let url = try PinnedAssets.require(InceptionFIDWeights.assetName)
        let weights = try TorchScriptWeights(contentsOf: url)
        XCTAssertEqual(weights.tensors.count, 376)
        XCTAssertEqual(weights.tensors["net.layers.conv.weight"]?.shape, [32, 3, 3, 3])
        XCTAssertEqual(weights.integers["net.layers.conv.stride"], [2])
        XCTAssertEqual(weights.integers["net.layers.mixed_4.tower.conv_1.padding"], [0, 3])
        XCTAssertEqual(weights.tensors["net.layers.mixed_4.tower.conv_1.weight"]?.shape, [128, 128, 1, 7])
        XCTAssertEqual(weights.classes["net.layers.mixed_10"], "InceptionE")
        XCTAssertEqual(weights.tensors["net.layers.mixed_10.conv.weight"]?.shape, [320, 2048, 1, 1])
        // Batch-norm variances are positive (a wrong storage offset would read weights instead).
        for (key, t) in weights.tensors where key.hasSuffix(".var") { XCTAssertGreaterThan(t.toArray().min()!, 0, key) }
    }

    func testRejectsNonZipAndTruncatedFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("torch-archive-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let junk = dir.appendingPathComponent("junk.pt")
        try Data(repeating: 7, count: 100).write(to: junk)
        XCTAssertThrowsError(try TorchScriptWeights(contentsOf: junk)) { error in
            XCTAssertTrue("\(error)".contains("junk.pt") && "\(error)".contains("not a zip"), "\(error)")
        }
    }

    func testPickleRefusesArbitraryCalls() throws {
        // PROTO 2, GLOBAL "os\nsystem\n", SHORT_BINUNICODE "x", TUPLE1, REDUCE, STOP
        let bytes: [UInt8] = [0x80, 2, 0x63] + Array("os\nsystem\n".utf8) + [0x8C, 1, 0x78, 0x85, 0x52, 0x2E]
        try bytes.withUnsafeBytes { raw in
            XCTAssertThrowsError(try TorchPickle(bytes: raw, file: "evil.pkl").load()) { error in
                XCTAssertTrue("\(error)".contains("refusing to call os.system"), "\(error)")
            }
        }
        let truncated: [UInt8] = [0x80, 2, 0x58, 10, 0, 0, 0, 0x61]
        try truncated.withUnsafeBytes { raw in
            XCTAssertThrowsError(try TorchPickle(bytes: raw, file: "short.pkl").load())
        }
    }
}
