import Foundation
import XCTest
@testable import LatteFormats

/// Small in-test builders for dataset files, so the parsers are covered without any download.
enum DatasetFixtures {
    static func idx(shape: [Int], data: [UInt8], type: UInt8 = 0x08) -> [UInt8] {
        var bytes: [UInt8] = [0, 0, type, UInt8(shape.count)]
        for d in shape { bytes += bigEndian(UInt32(d)) }
        return bytes + data
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32($0))) } }
    static func littleEndian(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * UInt32($0))) } }

    /// A valid gzip member using stored (uncompressed) deflate blocks: exercises our inflate path
    /// without needing a compressor in the tests.
    static func gzipStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 0xFF]
        var offset = 0
        repeat {
            let n = min(65535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out.append(final)
            out += [UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<(offset + n)]
            offset += n
        } while offset < data.count
        return out + littleEndian(crc32(data[...])) + littleEndian(UInt32(truncatingIfNeeded: data.count))
    }

    static func crc32(_ data: ArraySlice<UInt8>) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    static func write(_ bytes: [UInt8], _ dir: URL, _ name: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// Asserts a DatasetError or ImageError of the expected kind that names `file` and mentions `words`.
func assertDatasetError<T>(_ body: @autoclosure () throws -> T, names file: String, mentions words: [String] = [],
                           kind: DatasetError.Kind? = nil, line: UInt = #line) {
    XCTAssertThrowsError(try body(), line: line) { error in
        let text = "\(error)"
        XCTAssertTrue(text.contains(file), "error does not name \(file): \(text)", line: line)
        for word in words { XCTAssertTrue(text.lowercased().contains(word.lowercased()), "'\(word)' missing from: \(text)", line: line) }
        if let kind { XCTAssertEqual((error as? DatasetError)?.kind, kind, text, line: line) }
        XCTAssertTrue(error is DatasetError || error is ImageError, "unexpected error type: \(type(of: error))", line: line)
    }
}
