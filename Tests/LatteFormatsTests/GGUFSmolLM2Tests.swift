import Foundation
import XCTest
import LatteTestSupport
@testable import LatteFormats

/// The real SmolLM2-135M Q4_1 asset against values dumped by the `gguf` Python package
/// (scripts/make_gguf_fixtures.py). Needs the asset (`PinnedAssets`: skipped without it, failed under CI=true).
final class GGUFSmolLM2Tests: XCTestCase {
    var file: GGUFFile!
    var ref: [String: Any]!

    /// Opens the asset and the reference; called by each test rather than from `setUpWithError`, whose
    /// thrown error corelibs XCTest reports as a skip as well as a failure.
    func open() throws {
        let url = try PinnedAssets.require("smollm2", file: "SmolLM2-135M-Instruct.Q4_1.gguf")
        file = try GGUFFile(path: url.path)
        ref = try GGUFFixtures.json("smollm2_reference.json")
    }

    func testHeaderAndMetadata() throws {
        try open()
        XCTAssertEqual(file.version, ref["version"] as? Int)
        XCTAssertEqual(file.fileSize, ref["file_size"] as? Int)
        XCTAssertEqual(file.tensors.count, ref["tensor_count"] as? Int)
        XCTAssertEqual(file.metadata.count, ref["kv_count"] as? Int)
        XCTAssertEqual(file.alignment, ref["alignment"] as? Int)
        XCTAssertEqual(file.dataOffset, ref["data_offset"] as? Int)
        let meta = try XCTUnwrap(ref["metadata"] as? [String: Any])
        for (key, expected) in meta {
            let v = try XCTUnwrap(file.metadata[key], key)
            switch expected {
            case let s as String: XCTAssertEqual(v.string, s, key)
            case let b as Bool where v.type == .bool: XCTAssertEqual(v.bool, b, key)
            case let n as NSNumber where v.type == .float32: XCTAssertEqual(v.float, Float(n.doubleValue), key)
            case let n as NSNumber: XCTAssertEqual(v.int, n.intValue, key)
            default: XCTFail("unhandled \(key)")
            }
        }
        XCTAssertEqual(file.metadata["llama.block_count"]?.int, 30)
        XCTAssertEqual(file.metadata["llama.attention.layer_norm_rms_epsilon"]?.float, 9.999999747378752e-06)
        for (key, summary) in try XCTUnwrap(ref["arrays"] as? [String: [String: Any]]) {
            let v = try XCTUnwrap(file.metadata[key]?.array, key)
            XCTAssertEqual(v.count, summary["count"] as? Int, key)
            if let first = summary["first"] as? [String] {
                XCTAssertEqual(file.metadata[key]?.strings?.prefix(first.count).map { $0 }, first, key)
                XCTAssertEqual(file.metadata[key]?.strings?.suffix(3).map { $0 }, summary["last"] as? [String], key)
            } else {
                XCTAssertEqual(file.metadata[key]?.ints?.prefix(5).map { $0 }, summary["first"] as? [Int], key)
            }
        }
    }

    func testEveryTensorInfo() throws {
        try open()
        let tensors = try XCTUnwrap(ref["tensors"] as? [[String: Any]])
        XCTAssertEqual(tensors.count, 272)
        for (info, t) in zip(file.tensors, tensors) {
            XCTAssertEqual(info.name, t["name"] as? String)
            XCTAssertEqual(info.type.description, t["type"] as? String, info.name)
            XCTAssertEqual(info.shape, t["shape"] as? [Int], info.name)
            XCTAssertEqual(info.offset, t["offset"] as? Int, info.name)
            XCTAssertNotNil(LlamaGGUFNames.hfName(forGGUF: info.name), "\(info.name) has no HF name")
        }
        let types = Dictionary(grouping: file.tensors, by: \.type).mapValues(\.count)
        XCTAssertEqual(types, [.q4_1: 210, .f32: 61, .q8_0: 1])
    }

    func testDequantisedTensorsMatchTheReference() throws {
        try open()
        for (name, s) in try XCTUnwrap(ref["dequantised"] as? [String: [String: Any]]) {
            let info = try file.tensorInfo(named: name)
            XCTAssertEqual(info.type.description, s["type"] as? String)
            let v = try file.dequantize(info)
            XCTAssertEqual(v.count, s["count"] as? Int, name)
            XCTAssertEqual(Array(v.prefix(8)), (s["first"] as! [Double]).map(Float.init), name)
            XCTAssertEqual(Array(v.suffix(8)), (s["last"] as! [Double]).map(Float.init), name)
            var sum = 0.0, squares = 0.0
            for x in v { sum += Double(x); squares += Double(x) * Double(x) }
            let refSum = s["sum"] as! Double, refSquares = s["sum_of_squares"] as! Double
            XCTAssertEqual(sum, refSum, accuracy: 1e-9 * max(1, squares), name)
            XCTAssertEqual(squares, refSquares, accuracy: 1e-9 * refSquares, name)
            let row = s["row_index"] as! Int
            if info.rowCount > 1 {
                let r = try file.dequantize(info, rows: row..<row + 1)
                XCTAssertEqual(r.reduce(0.0) { $0 + Double($1) }, s["row_sum"] as! Double, accuracy: 1e-9 * Double(r.count), name)
            }
        }
    }

    /// transformers un-permutes Q/K rows when it loads a GGUF; our dequantise + `unpermuteQK` must give
    /// the same rows in the same order (and the permuted order must not, or the check proves nothing).
    func testUnpermutedQKRowsMatchTransformers() throws {
        try open()
        let doc = try GGUFFixtures.json("smollm2_hf_qk.json")
        let heads = try file.requireInt("llama.attention.head_count")
        let kvHeads = try file.requireInt("llama.attention.head_count_kv")
        let tensors = try XCTUnwrap(doc["tensors"] as? [String: [String: Any]])
        XCTAssertEqual(tensors.count, 4)
        for (name, ref) in tensors {
            let info = try file.tensorInfo(named: name)
            XCTAssertEqual(LlamaGGUFNames.hfName(forGGUF: name), ref["hf_name"] as? String)
            let h = LlamaGGUFNames.permutation(forGGUF: name) == .query ? heads : kvHeads
            let stored = try file.dequantize(info)
            let hf = try unpermuteQK(stored, rows: info.rowCount, heads: h)
            let expected = try XCTUnwrap(ref["row_sums"] as? [Double])
            func rowSums(_ v: [Float]) -> [Double] {
                (0..<info.rowCount).map { r in v[r * info.rowLength..<(r + 1) * info.rowLength].reduce(0.0) { $0 + Double($1) } }
            }
            let got = rowSums(hf), permuted = rowSums(stored)
            XCTAssertEqual(got.count, expected.count, name)
            let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? .infinity
            XCTAssertLessThan(worst, 1e-9, name)
            XCTAssertGreaterThan(zip(permuted, expected).map { abs($0 - $1) }.max() ?? 0, 1e-3, "\(name): permuted rows match too")
            XCTAssertEqual(Array(hf[info.rowLength..<info.rowLength + 8]), (ref["row_1_first_8"] as! [Double]).map(Float.init), name)
        }
    }

    /// Prints decode throughput (not asserted: timing depends on the machine and its load).
    func testDequantisationThroughput() throws {
        try open()
        if _isDebugAssertConfiguration() { throw XCTSkip("timing is only meaningful in release builds") }
        let openStart = DispatchTime.now().uptimeNanoseconds
        let reopened = try GGUFFile(path: file.path)  // header, 33 metadata pairs (98k strings), 272 tensor infos
        print(String(format: "open %@: %.1f ms", (file.path as NSString).lastPathComponent,
                     Double(DispatchTime.now().uptimeNanoseconds - openStart) / 1e6))
        XCTAssertEqual(reopened.tensors.count, file.tensors.count)
        for name in ["token_embd.weight", "blk.0.ffn_down.weight"] {
            let info = try file.tensorInfo(named: name)
            var out = [Float](repeating: 0, count: info.elementCount)
            let reps = name.hasPrefix("token") ? 3 : 50
            let start = DispatchTime.now().uptimeNanoseconds
            try out.withUnsafeMutableBufferPointer { b in
                for _ in 0..<reps { try file.dequantize(info, into: b) }
            }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            let values = Double(info.elementCount * reps)
            print(String(format: "dequantise %@ (%@): %.2f Gvalues/s, %.2f GB/s written", name, info.type.description,
                         values / seconds / 1e9, values * 4 / seconds / 1e9))
            XCTAssertTrue(out.contains { $0 != 0 })
        }
    }
}
