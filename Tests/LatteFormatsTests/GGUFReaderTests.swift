import Foundation
import XCTest
@testable import LatteFormats

/// The synthetic fixtures of scripts/make_gguf_fixtures.py against the values the `gguf` package wrote.
final class GGUFReaderTests: XCTestCase {
    func openTypes() throws -> (GGUFFile, [String: Any]) {
        (try GGUFFile(path: try GGUFFixtures.url("types.gguf").path), try GGUFFixtures.json("types.json"))
    }

    func testHeaderAndLayoutMatchTheWriter() throws {
        let (file, doc) = try openTypes()
        XCTAssertEqual(file.version, doc["version"] as? Int)
        XCTAssertEqual(file.alignment, doc["alignment"] as? Int)
        XCTAssertEqual(file.dataOffset, doc["data_offset"] as? Int)
        let tensors = try XCTUnwrap(doc["tensors"] as? [[String: Any]])
        XCTAssertEqual(file.tensors.map(\.name), tensors.map { $0["name"] as! String })
        for (info, t) in zip(file.tensors, tensors) {
            XCTAssertEqual(info.type.description, t["type"] as? String, info.name)
            XCTAssertEqual(info.shape, t["shape"] as? [Int], info.name)
            XCTAssertEqual(info.dimensions, (t["shape"] as! [Int]).reversed(), info.name)
        }
    }

    func testMetadataOfEveryValueType() throws {
        let (file, doc) = try openTypes()
        let meta = try XCTUnwrap(doc["metadata"] as? [String: [String: Any]])
        XCTAssertEqual(file.metadata["general.architecture"]?.string, "latte-test")
        for (key, entry) in meta {
            let value = try XCTUnwrap(file.metadata[key], "missing \(key)")
            let expected = entry["value"]!
            switch entry["type"] as! String {
            case "uint8": XCTAssertEqual(value, .uint8(UInt8(expected as! Int)))
            case "int8": XCTAssertEqual(value, .int8(Int8(expected as! Int)))
            case "uint16": XCTAssertEqual(value, .uint16(UInt16(expected as! Int)))
            case "int16": XCTAssertEqual(value, .int16(Int16(expected as! Int)))
            case "uint32": XCTAssertEqual(value, .uint32(UInt32(expected as! Int)))
            case "int32": XCTAssertEqual(value, .int32(Int32(expected as! Int)))
            case "uint64": XCTAssertEqual(value, .uint64((expected as! NSNumber).uint64Value))
            case "int64": XCTAssertEqual(value, .int64((expected as! NSNumber).int64Value))
            case "float32": XCTAssertEqual(value, .float32(Float(expected as! Double)))
            case "float64": XCTAssertEqual(value, .float64(expected as! Double))
            case "bool": XCTAssertEqual(value.bool, expected as? Bool)
            case "string": XCTAssertEqual(value.string, expected as? String)
            case "array[string]": XCTAssertEqual(value.strings, expected as? [String])
            case "array[int32]":
                XCTAssertEqual(value.ints, expected as? [Int])
                XCTAssertEqual(value, .array(elementType: .int32, (expected as! [Int]).map { .int32(Int32($0)) }))
            case "array[float32]": XCTAssertEqual(value.floats, (expected as! [Double]).map(Float.init))
            case "array[array]":
                XCTAssertEqual(value.array?.map { $0.ints ?? [] }, expected as? [[Int]])
                if case .array(let t, _) = value { XCTAssertEqual(t, .array) } else { XCTFail("not an array") }
            default: XCTFail("fixture type \(entry["type"]!) not handled")
            }
        }
        XCTAssertEqual(file.metadataKeys.count, file.metadata.count)
        XCTAssertEqual(file.metadata["test.uint32"]?.int, 4_000_000_000)
        XCTAssertEqual(file.metadata["test.float64"]?.double, 2.718281828459045)
        XCTAssertNil(file.metadata["test.string"]?.int)
        XCTAssertNil(file.metadata["test.uint64"]?.int)  // 1.8e19 does not fit an Int
    }

    func testEveryTypeDequantisesBitExactlyToTheReference() throws {
        let (file, doc) = try openTypes()
        for t in try XCTUnwrap(doc["tensors"] as? [[String: Any]]) {
            let name = t["name"] as! String
            let expected = (t["expected_bits"] as! [Int]).map { UInt32($0) }
            let got = try file.dequantize(name).map(\.bitPattern)
            XCTAssertEqual(got.count, expected.count, name)
            let mismatches = zip(got, expected).enumerated().filter { $0.element.0 != $0.element.1 }
            XCTAssertTrue(mismatches.isEmpty, "\(name): \(mismatches.count) values differ, first at \(mismatches.first.map { "\($0.offset): \(Float(bitPattern: $0.element.0)) vs \(Float(bitPattern: $0.element.1))" } ?? "")")
        }
    }

    func testRowRangesAndRawRowsAgreeWithTheWholeTensor() throws {
        let (file, _) = try openTypes()
        for info in file.tensors where info.rowCount >= 2 {
            let whole = try file.dequantize(info)
            let n = info.rowLength
            for rows in [0..<1, 1..<info.rowCount, 0..<info.rowCount, 1..<1] {
                let part = try file.dequantize(info, rows: rows)
                XCTAssertEqual(part.map(\.bitPattern), whole[rows.lowerBound * n..<rows.upperBound * n].map(\.bitPattern), "\(info.name) \(rows)")
            }
            // The raw bytes of one row decode to that row through the low-level entry point.
            let raw = try file.rawBytes(of: info, rows: 1..<2)
            XCTAssertEqual(raw.count, info.rowByteCount)
            var row = [Float](repeating: .nan, count: n)
            row.withUnsafeMutableBufferPointer { GGUFDequantizer.dequantize(info.type, from: raw.baseAddress!, elementCount: n, into: $0.baseAddress!) }
            XCTAssertEqual(row.map(\.bitPattern), whole[n..<2 * n].map(\.bitPattern), info.name)
        }
        let q = try file.tensorInfo(named: "t.q4_k")
        XCTAssertEqual(q.rowByteCount, 144)
        XCTAssertEqual(q.byteCount, 288)
        assertGGUFError(.badRange, path: "types.gguf") { try file.dequantize(q, rows: 1..<3) }
        assertGGUFError(.badRange, path: "types.gguf") { try file.rawBytes(of: q, rows: -1..<1) }
        var small = [Float](repeating: 0, count: 3)
        assertGGUFError(.badRange, path: "types.gguf") {
            try small.withUnsafeMutableBufferPointer { try file.dequantize(q, rows: 0..<1, into: $0) }
        }
        assertGGUFError(.noSuchTensor, path: "types.gguf") { try file.tensorInfo(named: "nope") }
    }

    func testMappedAndInMemoryReadsAgreeAndVersion2Opens() throws {
        var bytes = try GGUFFixtures.bytes("types.gguf")
        let mapped = try GGUFFile(path: try GGUFFixtures.url("types.gguf").path)
        bytes[4] = 2  // GGUF v2 has the same layout as v3 for little-endian files
        let v2 = try GGUFFile(bytes: bytes, name: "types-v2.gguf")
        XCTAssertEqual(v2.version, 2)
        XCTAssertEqual(v2.tensors, mapped.tensors)
        XCTAssertEqual(v2.metadata, mapped.metadata)
        XCTAssertEqual(try v2.dequantize("t.q6_k"), try mapped.dequantize("t.q6_k"))
    }

    func testCustomAlignmentPlacesEveryTensor() throws {
        let file = try GGUFFile(path: try GGUFFixtures.url("aligned64.gguf").path)
        let doc = try GGUFFixtures.json("aligned64.json")
        XCTAssertEqual(file.alignment, 64)
        XCTAssertEqual(file.dataOffset, doc["data_offset"] as? Int)
        XCTAssertEqual(file.dataOffset % 64, 0)
        for (info, t) in zip(file.tensors, try XCTUnwrap(doc["tensors"] as? [[String: Any]])) {
            XCTAssertEqual(file.dataOffset + info.offset, t["data_offset"] as? Int, info.name)
            XCTAssertEqual(try file.dequantize(info).map(\.bitPattern), (t["expected_bits"] as! [Int]).map { UInt32($0) })
        }
    }

    func testEmptyStringsAndArraysBuiltByHand() throws {
        // The Python writer refuses empty arrays, but the format allows them (an empty merges list, say).
        var b = GGUFTestBuilder()
        b.header(tensors: 0, kvs: 3)
        b.string("empty.string"); b.u32(GGUFValueType.string.rawValue); b.string("")
        b.string("empty")
        b.u32(GGUFValueType.array.rawValue); b.u32(GGUFValueType.string.rawValue); b.u64(0)
        b.string("nested")
        b.u32(GGUFValueType.array.rawValue); b.u32(GGUFValueType.array.rawValue); b.u64(2)
        b.u32(GGUFValueType.float64.rawValue); b.u64(0)
        b.u32(GGUFValueType.bool.rawValue); b.u64(2); b.u8(1); b.u8(0)
        let file = try GGUFFile(bytes: b.bytes, name: "arrays.gguf")
        XCTAssertEqual(file.metadata["empty"], .array(elementType: .string, []))
        XCTAssertEqual(file.metadata["empty"]?.strings, [])
        XCTAssertEqual(file.metadata["nested"], .array(elementType: .array, [
            .array(elementType: .float64, []), .array(elementType: .bool, [.bool(true), .bool(false)]),
        ]))
        XCTAssertEqual(file.metadata["empty.string"], .string(""))
        XCTAssertEqual(file.metadataKeys, ["empty.string", "empty", "nested"])
        XCTAssertTrue(file.tensors.isEmpty)
    }

    func testFp16SpecialValuesConvertLikeHardware() {
        // Every half bit pattern, through the bulk path (at an odd address) and the scalar one used for
        // block scales, against Swift's own Float16 conversion.
        var bytes = [UInt8](repeating: 0, count: 1 + 2 * 65536)
        for i in 0...0xffff { bytes[1 + 2 * i] = UInt8(i & 0xff); bytes[2 + 2 * i] = UInt8(i >> 8) }
        var out = [Float](repeating: 0, count: 65536)
        bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBufferPointer { GGUFDequantizer.dequantize(.f16, from: src.baseAddress! + 1, elementCount: 65536, into: $0.baseAddress!) }
        }
        func same(_ a: Float, _ b: Float) -> Bool { a.isNaN ? b.isNaN : a.bitPattern == b.bitPattern }
        let differing = (0...0xffff).filter { i in
            let e = Float(Float16(bitPattern: UInt16(i)))
            return !same(e, out[i]) || !same(e, GGUFDequantizer.halfToFloat(UInt16(i)))
        }
        XCTAssertEqual(differing.count, 0, "first differing half: \(differing.first.map { String($0, radix: 16) } ?? "")")
    }
}

/// Decode throughput of every supported type on random blocks (printed, not asserted: timing depends
/// on the machine and its load). Run in release: `swift test -c release --filter GGUFThroughput`.
final class GGUFThroughputTests: XCTestCase {
    func testDequantisationThroughputPerType() throws {
        if _isDebugAssertConfiguration() { throw XCTSkip("timing is only meaningful in release builds") }
        let values = 1 << 20
        var state: UInt64 = 0x9e3779b97f4a7c15
        for type in GGMLType.allCases where type.isDequantizable {
            let bytes = values / type.blockElements * type.blockBytes
            var raw = [UInt8](repeating: 0, count: bytes)
            for i in 0..<bytes {  // xorshift: cheap reproducible bytes
                state ^= state << 13; state ^= state >> 7; state ^= state << 17
                raw[i] = UInt8(truncatingIfNeeded: state)
            }
            var out = [Float](repeating: 0, count: values)
            let reps = 20
            let start = DispatchTime.now().uptimeNanoseconds
            raw.withUnsafeBytes { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for _ in 0..<reps { GGUFDequantizer.dequantize(type, from: src.baseAddress!, elementCount: values, into: dst.baseAddress!) }
                }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            print(String(format: "dequantise %@: %.2f Gvalues/s", type.description, Double(values * reps) / seconds / 1e9))
            XCTAssertEqual(out.count, values)
        }
    }
}
