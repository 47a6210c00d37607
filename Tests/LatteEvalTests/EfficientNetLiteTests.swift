import Foundation
import LatteFormats
import LatteTensor
import XCTest
import LatteTestSupport
@testable import LatteEval

/// EfficientNet-Lite0, converted from the legacy torch pickle without torch, against the plain-torch
/// reference (scripts/make_efficientnet_fixtures.py): the head map of the two FID fixture images at
/// input size 64. Needs the `efficientnet-lite0` asset (`latte assets fetch efficientnet-lite0`).
final class EfficientNetLiteTests: XCTestCase {
    static let inputSize = 64

    static func network() throws -> EfficientNetLite {
        _ = try PinnedAssets.require(EfficientNetLiteWeights.assetName)
        return try EfficientNetLite.load(inputSize: inputSize)
    }

    func testHeadMapMatchesTorchReference() throws {
        let net = try Self.network()
        let reference = try Safetensors.read(contentsOf: InceptionFIDTests.fixture("efficientnet_features.safetensors"))
        for (i, name) in ["fid_image_0.png", "fid_image_1.png"].enumerated() {
            let x = try InceptionFIDTests.image(name)
            let f = net.features(x)
            let r = reference.tensors["image\(i)"]!
            XCTAssertEqual(f.shape, r.shape, name)
            let (a, b) = (f.toArray(), r.toArray())
            var diff = 0.0, norm = 0.0
            for k in 0..<b.count { diff += Double(a[k] - b[k]) * Double(a[k] - b[k]); norm += Double(b[k]) * Double(b[k]) }
            let relative = (diff / norm).squareRoot()
            print("EfficientNet-Lite0 head map of \(name): relative L2 error \(relative) against the torch reference")
            XCTAssertLessThan(relative, 1e-4, "\(name) (\(x.shape)): relative L2 error \(relative)")
        }
    }

    func testGreyAndReplicatedRGBAgree() throws {
        let net = try Self.network()
        let grey = try InceptionFIDTests.image("fid_image_0.png")
        let a = net.features(grey).toArray(), b = net.features(Tensor.concat([grey, grey, grey], axis: 1)).toArray()
        let maxAbs = zip(a, b).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(maxAbs, 1e-3, "summed stem kernel differs from the RGB path by \(maxAbs)")
    }

    /// The legacy reader refuses a file that is not a legacy torch.save pickle, naming the file.
    func testLegacyReaderRejectsOtherFiles() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("not-a-pickle-\(UUID().uuidString).pth")
        try Data("PK\u{3}\u{4} a zip, not a legacy pickle".utf8).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        XCTAssertThrowsError(try TorchLegacyArchive(contentsOf: url)) { error in
            XCTAssertTrue("\(error)".contains("legacy torch.save magic"), "\(error)")
            XCTAssertTrue("\(error)".contains(url.lastPathComponent), "\(error)")
        }
    }

    /// The vision path's token cache: computed once, then read back (the same values), and another
    /// image set (one pixel changed) is another entry.
    func testVisionFeatureCacheIsBuiltOnceAndKeyedByContent() throws {
        let net = try Self.network()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vision-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let cache = try VisionFeatureCache(encoder: net, grid: 2, directory: folder)
        let x = try InceptionFIDTests.image("fid_image_0.png")
        var logs: [String] = []
        let first = try cache.tokens(of: x) { logs.append($0) }
        XCTAssertEqual(first.shape, [1, 4, 1280])
        XCTAssertTrue(logs.last?.contains("cached at") ?? false, "\(logs)")
        let map = net.features(x)
        let pooled = map.adaptiveAveragePoolTokens(grid: 2).toArray(), read = first.toArray()
        for k in stride(from: 0, to: pooled.count, by: 97) { XCTAssertEqual(read[k], pooled[k], accuracy: 2e-3 * max(1, abs(pooled[k]))) }
        let again = try cache.tokens(of: x) { logs.append($0) }
        XCTAssertTrue(logs.last?.contains("read from") ?? false, "\(logs)")
        XCTAssertEqual(again.toArray(), first.toArray())
        var values = x.toArray()
        values[0] = values[0] > 0.5 ? 0 : 1
        _ = try cache.tokens(of: Tensor(values, shape: x.shape)) { logs.append($0) }
        XCTAssertTrue(logs.last?.contains("cached at") ?? false, "a changed pixel is a new entry: \(logs)")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".safetensors") }.count, 2)
        // Two images in chunks of one, kept in float16: each row is its own image's tokens.
        let y = Tensor(values, shape: x.shape)   // the fixtures differ in size; the changed-pixel copy has x's
        let pair = try cache.tokens(of: Tensor.concat([x, y], axis: 0), chunk: 1, half: true)
        XCTAssertEqual(pair.dtype, .float16)
        XCTAssertEqual(pair.shape, [2, 4, 1280])
        XCTAssertEqual(pair.sliced(axis: 0, 0..<1).toFloat32().toArray(), first.toArray())
        let second = net.features(y).adaptiveAveragePoolTokens(grid: 2).toArray(), row = pair.sliced(axis: 0, 1..<2).toFloat32().toArray()
        for k in stride(from: 0, to: second.count, by: 97) { XCTAssertEqual(row[k], second[k], accuracy: 2e-3 * max(1, abs(second[k]))) }
    }
}
