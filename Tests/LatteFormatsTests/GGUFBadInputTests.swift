import Foundation
import XCTest
@testable import LatteFormats

/// Hostile and broken GGUF files: every one must throw a `GGUFError` naming the file, never crash,
/// hang or allocate by an unchecked header field.
final class GGUFBadInputTests: XCTestCase {
    let badName = "bad.gguf"

    func open(_ b: GGUFTestBuilder) throws -> GGUFFile { try GGUFFile(bytes: b.bytes, name: badName) }

    /// One Q4_0 tensor of 2 × 32 values (2 blocks of 18 bytes), optionally with an alignment key.
    func smallFile(alignment: UInt32? = nil, type: UInt32 = GGMLType.q4_0.rawValue, dims: [UInt64] = [32, 2],
                   offset: UInt64 = 0, dataBytes: Int = 36) -> GGUFTestBuilder {
        var b = GGUFTestBuilder()
        b.header(tensors: 1, kvs: alignment == nil ? 0 : 1)
        if let a = alignment { b.kvUInt32("general.alignment", a) }
        b.tensorInfo("w", dims: dims, type: type, offset: offset)
        b.pad(to: Int(alignment ?? 32) == 0 ? 32 : Int(alignment ?? 32))
        b.bytes.append(contentsOf: [UInt8](repeating: 0x11, count: dataBytes))
        return b
    }

    func testTheSmallFileIsValid() throws {
        let f = try open(smallFile())
        XCTAssertEqual(f.tensors.first?.byteCount, 36)
        XCTAssertEqual(try f.dequantize("w").count, 64)
    }

    func testTruncationAtEveryByteOfTheFixture() throws {
        let bytes = try GGUFFixtures.bytes("types.gguf")
        let whole = try GGUFFile(bytes: bytes, name: badName)
        let end = whole.tensors.map { whole.dataOffset + $0.offset + $0.byteCount }.max()!
        let allowed: Set<GGUFError.Kind> = [.truncated, .absurdCount, .tensorOutOfBounds]
        var failures = 0
        for n in 0..<bytes.count {
            do {
                _ = try GGUFFile(bytes: Array(bytes[..<n]), name: badName)
                if n < end { failures += 1; XCTFail("a \(n)-byte prefix opened; the data ends at \(end)") }
            } catch let e as GGUFError {
                if !allowed.contains(e.kind) || !e.description.contains(badName) {
                    failures += 1
                    XCTFail("prefix \(n): \(e.kind) \(e.description)")
                }
            }
            if failures > 5 { break }
        }
        // The sections really were cut: metadata, tensor infos and data all lie inside the range tested.
        XCTAssertGreaterThan(whole.dataOffset, 24 + 100)
        XCTAssertGreaterThan(end, whole.dataOffset)
    }

    func testWrongMagicVersionAndEmptyFile() {
        assertGGUFError(.truncated, path: badName) { try GGUFFile(bytes: [], name: badName) }
        assertGGUFError(.truncated, path: badName) { try GGUFFile(bytes: Array("GGU".utf8), name: badName) }
        var b = smallFile()
        b.bytes[0...3] = ArraySlice("GGML".utf8)
        let e = assertGGUFError(.badMagic, path: badName) { try open(b) }
        XCTAssertTrue(e?.message.contains("GGML") ?? false, e?.message ?? "")
        for v: UInt32 in [1, 4, 0x0300_0000] {
            var c = smallFile()
            withUnsafeBytes(of: v.littleEndian) { c.bytes[4..<8] = ArraySlice($0) }
            let e = assertGGUFError(.unsupportedVersion, path: badName) { try open(c) }
            if v == 0x0300_0000 { XCTAssertTrue(e?.message.contains("big-endian") ?? false) }
        }
        var png = GGUFTestBuilder()
        png.bytes = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]
        assertGGUFError(.badMagic, path: badName) { try open(png) }
    }

    func testAbsurdCountsAndLengths() {
        var b = GGUFTestBuilder()
        b.header(tensors: UInt64.max, kvs: 0)
        assertGGUFError(.absurdCount, path: badName) { try open(b) }
        b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1 << 40)
        assertGGUFError(.absurdCount, path: badName) { try open(b) }
        // A key claiming 2^62 bytes, and one just longer than what follows.
        b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1)
        b.u64(1 << 62); b.bytes += [UInt8](repeating: 65, count: 16)
        assertGGUFError(.badString, path: badName) { try open(b) }
        b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1)
        b.u64(100); b.bytes += [UInt8](repeating: 65, count: 99)
        assertGGUFError(.truncated, path: badName) { try open(b) }
        // An array of 2^60 uint64s, and of 2^20 strings in a few bytes.
        for (type, count) in [(GGUFValueType.uint64, UInt64(1) << 60), (.string, 1 << 20)] {
            b = GGUFTestBuilder()
            b.header(tensors: 0, kvs: 1)
            b.string("a"); b.u32(GGUFValueType.array.rawValue); b.u32(type.rawValue); b.u64(count)
            b.bytes += [UInt8](repeating: 0, count: 64)
            assertGGUFError(.absurdCount, path: badName) { try open(b) }
        }
    }

    func testMetadataValueBudgetAndNestingDepth() {
        // 2^24 + 1 one-byte values: each fits in the file, but together they exceed the value budget.
        var b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("big"); b.u32(GGUFValueType.array.rawValue); b.u32(GGUFValueType.uint8.rawValue)
        b.u64(UInt64(GGUFFile.maxMetadataValues + 1))
        b.bytes += [UInt8](repeating: 0, count: GGUFFile.maxMetadataValues + 1)
        assertGGUFError(.absurdCount, path: badName) { try open(b) }
        b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("deep"); b.u32(GGUFValueType.array.rawValue)
        for _ in 0..<20 { b.u32(GGUFValueType.array.rawValue); b.u64(1) }
        b.u32(GGUFValueType.uint8.rawValue); b.u64(0)
        let e = assertGGUFError(.badValueType, path: badName) { try open(b) }
        XCTAssertTrue(e?.message.contains("deeper") ?? false)
    }

    func testUnknownAndInvalidValueTypes() {
        var b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("k"); b.u32(13); b.u32(0)
        assertGGUFError(.badValueType, path: badName) { try open(b) }
        b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("k"); b.u32(GGUFValueType.array.rawValue); b.u32(99); b.u64(0)
        assertGGUFError(.badValueType, path: badName) { try open(b) }
        b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("flag"); b.u32(GGUFValueType.bool.rawValue); b.u8(2)
        assertGGUFError(.badValueType, path: badName) { try open(b) }
        b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 2)
        b.kvUInt32("k", 1); b.kvUInt32("k", 2)
        assertGGUFError(.duplicateName, path: badName) { try open(b) }
    }

    func testTensorDataBeyondTheEndOfTheFile() {
        assertGGUFError(.tensorOutOfBounds, path: badName) { try open(smallFile(dataBytes: 35)) }
        assertGGUFError(.tensorOutOfBounds, path: badName) { try open(smallFile(offset: 32, dataBytes: 40)) }
        assertGGUFError(.tensorOutOfBounds, path: badName) { try open(smallFile(offset: 1 << 62)) }
        // The header ends, but the data section (after padding) never starts.
        var b = GGUFTestBuilder()
        b.header(tensors: 1, kvs: 0)
        b.tensorInfo("w", dims: [32], type: GGMLType.f32.rawValue, offset: 0)
        assertGGUFError(.truncated, path: badName) { try open(b) }
    }

    func testBadAlignment() {
        for a: UInt32 in [0, 3, 48, 1 << 20] {
            assertGGUFError(.badAlignment, path: badName) { try open(smallFile(alignment: a)) }
        }
        assertGGUFError(.badAlignment, path: badName) { try open(smallFile(offset: 4, dataBytes: 64)) }
        var b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 1)
        b.string("general.alignment"); b.u32(GGUFValueType.string.rawValue); b.string("32")
        assertGGUFError(.badAlignment, path: badName) { try open(b) }
        XCTAssertNoThrow(try open(smallFile(alignment: 64)))
    }

    func testBadTensorInfos() {
        assertGGUFError(.unknownTensorType, path: badName) { try open(smallFile(type: 999)) }
        assertGGUFError(.unknownTensorType, path: badName) { try open(smallFile(type: 4)) }  // removed Q4_2
        assertGGUFError(.badTensorInfo, path: badName) { try open(smallFile(dims: [])) }
        assertGGUFError(.badTensorInfo, path: badName) { try open(smallFile(dims: [32, 1, 1, 1, 1])) }
        assertGGUFError(.badTensorInfo, path: badName) { try open(smallFile(dims: [32, 1 << 40, 1 << 40])) }
        assertGGUFError(.badTensorInfo, path: badName) { try open(smallFile(dims: [UInt64.max])) }
        assertGGUFError(.badTensorInfo, path: badName) { try open(smallFile(dims: [33, 2])) }  // not whole Q4_0 blocks
        var b = GGUFTestBuilder()
        b.header(tensors: 2, kvs: 0)
        b.tensorInfo("w", dims: [8], type: GGMLType.f32.rawValue, offset: 0)
        b.tensorInfo("w", dims: [8], type: GGMLType.f32.rawValue, offset: 32)
        b.pad(to: 32)
        b.bytes += [UInt8](repeating: 0, count: 64)
        assertGGUFError(.duplicateName, path: badName) { try open(b) }
    }

    func testKnownButUndequantisableTypesOpenAndRefuseToDequantise() throws {
        let f = try open(smallFile(type: GGMLType.q5_K.rawValue, dims: [256, 1], dataBytes: 176))
        XCTAssertEqual(f.tensors.first?.type, .q5_K)
        XCTAssertEqual(try f.rawBytes(of: f.tensors[0]).count, 176)
        let e = assertGGUFError(.unsupportedDequantization, path: badName) { try f.dequantize("w") }
        XCTAssertTrue(e?.message.contains("Q5_K") ?? false)
    }

    func testFilesThatCannotBeOpened() throws {
        assertGGUFError(.cannotOpen, path: "/nonexistent/x.gguf") { try GGUFFile(path: "/nonexistent/x.gguf") }
        let dir = FileManager.default.temporaryDirectory.path
        assertGGUFError(.cannotOpen, path: dir) { try GGUFFile(path: dir) }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("latte-empty-\(getpid()).gguf").path
        FileManager.default.createFile(atPath: empty, contents: Data())
        defer { try? FileManager.default.removeItem(atPath: empty) }
        assertGGUFError(.truncated, path: empty) { try GGUFFile(path: empty) }
    }
}
