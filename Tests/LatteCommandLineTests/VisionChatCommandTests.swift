import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTestSupport
import XCTest

/// `latte chat --image` on a model folder with vision weights — tiny random projector weights over the
/// pinned encoder and SmolLM2 (`smollm2`, `efficientnet-lite0` assets): an answer streams for one and
/// for two images, and each bad input stops with its own message naming the file.
final class VisionChatCommandTests: XCTestCase {
    func chat(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try LatteExecutable.run(["chat"] + arguments)
    }

    /// CRC-32 (PNG's) of `bytes`.
    static func crc32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            c ^= UInt32(b)
            for _ in 0..<8 { c = c & 1 == 1 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        }
        return ~c
    }

    func testVisionChatAnswersAndRefusesBadImagesClearly() throws {
        try LatteExecutable.require()
        _ = try PinnedAssets.require("smollm2")
        _ = try PinnedAssets.require("efficientnet-lite0")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vision-chat-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        var g = RandomGenerator(seed: 3)
        let projector = ImageTokenProjector(encoderChannels: 1280, width: 576, generator: &g)
        try VisionModelConfiguration(inputSize: 64, grid: 2, encoderChannels: 1280, width: 576).save(projector: projector, to: dir)

        var pixels = [UInt8](repeating: 0, count: 28 * 28)
        for y in 6..<22 { for x in 8..<20 { pixels[y * 28 + x] = 200 } }
        let png = try PNG.encode(Image(width: 28, height: 28, channels: 1, pixels: pixels))
        let good = dir.appendingPathComponent("item.png").path
        try Data(png).write(to: URL(fileURLWithPath: good))
        let rgba = dir.appendingPathComponent("colour.png").path
        try Data(try PNG.encode(Image(width: 40, height: 30, channels: 4, fill: [200, 30, 30, 255]))).write(to: URL(fileURLWithPath: rgba))

        let one = try chat(["--model", dir.path, "--image", good, "--prompt", "What is this?", "--max-tokens", "4"])
        XCTAssertEqual(one.status, 0, one.stderr)
        XCTAssertTrue(one.stderr.contains("1 image (4 tokens each)"), one.stderr)
        let two = try chat(["--model", dir.path, "--image", good, "--image", rgba, "--prompt", "Which is darker?", "--max-tokens", "3"])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertTrue(two.stderr.contains("2 images"), two.stderr)

        let text = dir.appendingPathComponent("notes.txt").path
        try Data("hello".utf8).write(to: URL(fileURLWithPath: text))
        let notImage = try chat(["--model", dir.path, "--image", text, "--prompt", "?"])
        XCTAssertNotEqual(notImage.status, 0)
        XCTAssertTrue(notImage.stderr.contains("notes.txt: not an image"), notImage.stderr)

        let truncated = dir.appendingPathComponent("cut.png").path
        try Data(png.prefix(40)).write(to: URL(fileURLWithPath: truncated))
        let cut = try chat(["--model", dir.path, "--image", truncated, "--prompt", "?"])
        XCTAssertNotEqual(cut.status, 0)
        XCTAssertTrue(cut.stderr.contains("cut.png: no decodable pixels"), cut.stderr)

        // A header claiming 20000 × 20000 pixels (CRC fixed): refused before any pixel buffer exists.
        var huge = png
        for (k, v) in [UInt32(20000), UInt32(20000)].enumerated() {
            for b in 0..<4 { huge[16 + 4 * k + b] = UInt8((v >> (24 - 8 * b)) & 0xFF) }
        }
        let crc = Self.crc32(huge[12..<29])
        for b in 0..<4 { huge[29 + b] = UInt8((crc >> (24 - 8 * b)) & 0xFF) }
        let hugePath = dir.appendingPathComponent("huge.png").path
        try Data(huge).write(to: URL(fileURLWithPath: hugePath))
        let big = try chat(["--model", dir.path, "--image", hugePath, "--prompt", "?"])
        XCTAssertNotEqual(big.status, 0)
        XCTAssertTrue(big.stderr.contains("huge.png: too large"), big.stderr)

        let long = try chat(["--model", dir.path, "--image", good, "--image", good, "--prompt", "?", "--max-tokens", "8190"])
        XCTAssertNotEqual(long.status, 0)
        XCTAssertTrue(long.stderr.contains("2 images × 4 image tokens"), long.stderr)
    }
}
