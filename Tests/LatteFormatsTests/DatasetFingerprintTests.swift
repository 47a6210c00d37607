import Foundation
import XCTest
@testable import LatteFormats

/// `DatasetFingerprint`: an image folder is identified by its files' names, sizes and times (moving
/// the folder keeps it, touching or adding a file changes it); `DataLoader.batch` builds one ordered
/// batch and leaves unreadable images out.
final class DatasetFingerprintTests: XCTestCase {
    var root: URL!

    override func setUpWithError() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("latte-fingerprint-\(UUID().uuidString)")
        for (i, path) in ["cat/a.png", "cat/b.png", "dog/c.png"].enumerated() {
            let url = root.appendingPathComponent("data/\(path)")
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try PNG.write(Image(width: 2, height: 2, channels: 1, fill: [UInt8(40 * i)]), to: url.path)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

    func fingerprint(_ folder: String = "data") throws -> DatasetFingerprint {
        try DatasetFingerprint(of: ImageFolderDataset(root: root.appendingPathComponent(folder).path))
    }

    func testAFolderIsIdentifiedByItsFilesNotItsPlace() throws {
        let first = try fingerprint()
        XCTAssertEqual(first.count, 3)
        XCTAssertEqual(first.method, "files: name, size, mtime")
        XCTAssertEqual(try fingerprint(), first)
        try FileManager.default.moveItem(at: root.appendingPathComponent("data"), to: root.appendingPathComponent("moved"))
        XCTAssertEqual(try fingerprint("moved"), first, "a moved folder keeps its fingerprint")

        let b = root.appendingPathComponent("moved/cat/b.png")
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSinceNow: -3600)], ofItemAtPath: b.path)
        let touched = try fingerprint("moved")
        XCTAssertNotEqual(touched, first, "a file with another time")
        try PNG.write(Image(width: 2, height: 2, channels: 1, fill: [7]), to: root.appendingPathComponent("moved/dog/d.png").path)
        let added = try fingerprint("moved")
        XCTAssertEqual(added.count, 4)
        XCTAssertNotEqual(added.sha256, touched.sha256)

        // A prefix is fingerprinted by its base's first items.
        let prefix = try DatasetPrefix(base: ImageFolderDataset(root: root.appendingPathComponent("moved").path), count: 2)
        XCTAssertEqual(try DatasetFingerprint(of: prefix).method, "files: name, size, mtime")
        XCTAssertEqual(try DatasetFingerprint(of: prefix).count, 2)
    }

    func testAnInMemorySetIsIdentifiedByItsPixels() throws {
        struct Grey: Dataset {
            var level: UInt8
            var classNames: [String] { ["x"] }
            var count: Int { 2 }
            func item(at index: Int) throws -> DatasetItem {
                DatasetItem(image: Image(width: 2, height: 1, channels: 1, pixels: [level, UInt8(index)]), label: 0)
            }
        }
        XCTAssertEqual(try DatasetFingerprint(of: Grey(level: 1)).method, "pixels")
        XCTAssertEqual(try DatasetFingerprint(of: Grey(level: 1)), try DatasetFingerprint(of: Grey(level: 1)))
        XCTAssertNotEqual(try DatasetFingerprint(of: Grey(level: 1)), try DatasetFingerprint(of: Grey(level: 2)))
    }

    func testABatchOfGivenIndicesSkipsUnreadableImages() throws {
        try Data("not a png".utf8).write(to: root.appendingPathComponent("data/cat/b.png"))
        let dataset = try ImageFolderDataset(root: root.appendingPathComponent("data").path)
        let skipped = SkippedFiles()
        let options = DataLoaderOptions(batchSize: 1, shuffle: false, unreadableImages: .skip(skipped))
        let batch = try DataLoader.batch(of: dataset, indices: [2, 1, 0], options: options)
        XCTAssertEqual(batch.indices, [2, 0])
        XCTAssertEqual([batch.count, batch.span], [2, 3])
        XCTAssertEqual(batch.pixels.count, 2 * 4)
        XCTAssertEqual(skipped.files.map(\.file), [root.appendingPathComponent("data/cat/b.png").path])
        XCTAssertEqual(try DataLoader.batch(of: dataset, indices: [1], options: options).count, 0, "an all-unreadable batch is empty, not an error")
    }
}
