import Foundation
import XCTest
@testable import LatteFormats

/// Builds GGUF byte images by hand, so bad-input tests control every field.
struct GGUFTestBuilder {
    var bytes = [UInt8]()

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func f32(_ v: Float) { u32(v.bitPattern) }
    mutating func string(_ s: String) { u64(UInt64(s.utf8.count)); bytes.append(contentsOf: Array(s.utf8)) }
    mutating func header(version: UInt32 = 3, tensors: UInt64, kvs: UInt64) {
        bytes.append(contentsOf: Array("GGUF".utf8))
        u32(version)
        u64(tensors)
        u64(kvs)
    }
    mutating func kvUInt32(_ key: String, _ v: UInt32) { string(key); u32(GGUFValueType.uint32.rawValue); u32(v) }
    mutating func tensorInfo(_ name: String, dims: [UInt64], type: UInt32, offset: UInt64) {
        string(name)
        u32(UInt32(dims.count))
        for d in dims { u64(d) }
        u32(type)
        u64(offset)
    }
    mutating func pad(to alignment: Int) {
        while bytes.count % alignment != 0 { bytes.append(0) }
    }
}

enum GGUFFixtures {
    /// A committed fixture (Tests/LatteFormatsTests/Fixtures/gguf, scripts/make_gguf_fixtures.py); its
    /// absence fails the test.
    static func url(_ name: String) throws -> URL {
        try XCTUnwrap(Bundle.module.url(forResource: "Fixtures/gguf/\(name)", withExtension: nil),
                      "committed fixture Fixtures/gguf/\(name) is missing from the test bundle")
    }

    static func json(_ name: String) throws -> [String: Any] {
        let data = try Data(contentsOf: try url(name))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: try url(name)))
    }
}

/// Asserts that `body` throws a `GGUFError` of `kind` whose message names `path`; returns the error.
@discardableResult
func assertGGUFError<T>(_ kind: GGUFError.Kind, path: String, file: StaticString = #filePath, line: UInt = #line,
                        _ body: () throws -> T) -> GGUFError? {
    do {
        _ = try body()
        XCTFail("expected GGUFError.\(kind), nothing was thrown", file: file, line: line)
    } catch let e as GGUFError {
        XCTAssertEqual(e.kind, kind, "wrong kind; message: \(e.description)", file: file, line: line)
        XCTAssertTrue(e.description.contains(path), "message does not name the file: \(e.description)", file: file, line: line)
        return e
    } catch {
        XCTFail("expected GGUFError.\(kind), got \(error)", file: file, line: line)
    }
    return nil
}
