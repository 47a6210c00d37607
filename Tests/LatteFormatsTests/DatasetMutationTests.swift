import Foundation
import XCTest
@testable import LatteFormats

/// Seeded random damage to IDX (plain and gzip'd) and CSV bytes: parsing either succeeds with
/// consistent shapes or throws a DatasetError naming the file.
final class DatasetMutationTests: XCTestCase {
    func testDamagedIDXAndCSVNeverCrash() throws {
        var rng = SplitMix64(seed: 11)
        let idx = DatasetFixtures.idx(shape: [4, 5, 3], data: (0..<60).map { UInt8($0) })
        let gz = DatasetFixtures.gzipStored(idx)
        var rejected = 0
        for _ in 0..<2000 {
            for source in [idx, gz] {
                var bytes = source
                if rng.next(below: 2) == 0 {
                    bytes = Array(bytes.prefix(rng.next(below: bytes.count)))
                } else {
                    for _ in 0...rng.next(below: 3) { bytes[rng.next(below: bytes.count)] = UInt8(truncatingIfNeeded: rng.next()) }
                }
                do {
                    let raw = bytes.starts(with: [0x1F, 0x8B]) ? try DatasetFiles.gunzip(bytes, file: "m.gz", maxBytes: 1 << 20) : bytes
                    let array = try IDXArray(bytes: raw, file: "m.idx")
                    XCTAssertEqual(array.data.count, array.shape.reduce(1, *))
                } catch let error as DatasetError {
                    XCTAssertTrue(error.file == "m.idx" || error.file == "m.gz")
                    rejected += 1
                }
            }
        }
        XCTAssertGreaterThan(rejected, 1000)

        let layout = CSVDigitsDataset.Layout(width: 2, height: 2, maxValue: 16)
        let csv = Array("0,16,8,4,3\n16,16,0,0,9\n1,2,3,4,5\n".utf8)
        let alphabet = Array("0123456789,.-\n\r x".utf8)
        for _ in 0..<2000 {
            var bytes = csv
            for _ in 0...rng.next(below: 3) { bytes[rng.next(below: bytes.count)] = alphabet[rng.next(below: alphabet.count)] }
            do {
                let data = try CSVDigitsDataset(bytes: bytes, layout: layout, file: "m.csv")
                for i in 0..<data.count { XCTAssertTrue((0...9).contains(try data.item(at: i).label)) }
            } catch let error as DatasetError {
                XCTAssertEqual(error.file, "m.csv")
            }
        }
    }

    /// Caption JSONL and class-name maps: every damaged line is accepted with sane fields or
    /// rejected with a DatasetError naming the file and a line.
    func testDamagedCaptionLinesAndNameMapsNeverCrash() throws {
        var rng = SplitMix64(seed: 12)
        let jsonl = Array(#"""
        {"image": "a/b c.png", "caption": ["x", "y ü"], "label": "l"}
        {"image": "./d.jpg", "caption": "z"}
        """#.utf8)
        let map = Array("n01\ttench, Tinca tinca\nfolder two\tname\n# c\nn03 x, y\n".utf8)
        let alphabet = Array("{}[]\":,. \t\n\\/#abc0é".utf8)
        var rejected = 0
        for _ in 0..<2000 {
            for source in [jsonl, map] {
                var bytes = source
                for _ in 0...rng.next(below: 3) { bytes[rng.next(below: bytes.count)] = alphabet[rng.next(below: alphabet.count)] }
                do {
                    if source == jsonl {
                        for line in try CaptionLines.parse(bytes, file: "m.jsonl") {
                            XCTAssertFalse(line.image.isEmpty || line.captions.isEmpty || line.captions.contains(""))
                        }
                    } else {
                        let names = try ClassNameMap(bytes: bytes, file: "m.txt").names
                        XCTAssertFalse(names.values.contains { $0.isEmpty || $0.contains("") })
                    }
                } catch let error as DatasetError {
                    XCTAssertTrue(["m.jsonl", "m.txt"].contains(error.file) && error.message.hasPrefix("line ") || error.message.contains("no entries"), "\(error)")
                    rejected += 1
                }
            }
        }
        XCTAssertGreaterThan(rejected, 500)
    }
}
