import Foundation
import XCTest
@testable import LatteFormats

/// The Pillow-made fixtures of scripts/make_image_fixtures.py, read through its manifest.json.
struct ImageFixtureManifest: Decodable {
    struct Resize: Decodable { let source: String; let width: Int; let height: Int; let filter: String; let expected: String }
    struct Decode: Decodable { let file: String; let expected: String; let channels: Int; let expected16: String?; let tolerance: Int? }
    struct Convert: Decodable { let source: String; let expected: String; let conversion: String }
    let pillow: String
    let resize: [Resize]
    let png: [Decode]
    let jpeg: [Decode]
    let convert: [Convert]

    static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("images")

    static func load() throws -> ImageFixtureManifest {
        let data = try Data(contentsOf: root.appendingPathComponent("manifest.json"))
        return try JSONDecoder().decode(ImageFixtureManifest.self, from: data)
    }

    static func path(_ relative: String) -> String { root.appendingPathComponent(relative).path }
}

/// Largest absolute difference between two equally shaped images (fails the test on a shape mismatch).
func maxAbsDifference(_ a: Image, _ b: Image, _ context: String, file: StaticString = #filePath, line: UInt = #line) -> Int {
    guard a.width == b.width, a.height == b.height, a.channels == b.channels else {
        XCTFail("\(context): shape \(a.width)x\(a.height)x\(a.channels) vs \(b.width)x\(b.height)x\(b.channels)", file: file, line: line)
        return Int.max
    }
    var worst = 0
    for i in 0..<a.pixels.count { worst = max(worst, abs(Int(a.pixels[i]) - Int(b.pixels[i]))) }
    return worst
}

/// A scratch directory removed when the test ends.
func makeScratchDirectory(_ test: XCTestCase) throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("latte-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    test.addTeardownBlock { try? FileManager.default.removeItem(at: url) }
    return url
}
