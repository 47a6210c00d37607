import Foundation
import LatteTensor
import XCTest
import LatteNN

/// Row-wise int8 weights (`Int8RowwiseWeights`): the stored codes and scales follow the format's
/// definition, every weight comes back within half a step of its row, and bad files are named.
final class Int8RowwiseWeightsTests: XCTestCase {
    func testCodesAndScalesFollowTheDefinition() throws {
        var g = RandomGenerator(seed: 3)
        let w = Tensor.normal([40, 64], generator: &g) * 0.05
        let bias = Tensor.normal([64], generator: &g)
        let q = Int8RowwiseWeights.quantize(["w": w, "b": bias])
        XCTAssertEqual(Set(q.keys), ["w", "w_scale", "b"])
        XCTAssertEqual(q["w"]!.dtype, .int8)
        XCTAssertEqual(q["w_scale"]!.dtype, .float16)
        XCTAssertEqual(q["w_scale"]!.shape, [40])
        XCTAssertEqual(q["b"]!.dtype, .float16, "vectors stay f16")
        let values = w.toArray(), codes = q["w"]!.toIntArray(), scales = q["w_scale"]!.toFloat32().toArray()
        for r in 0..<40 {
            let row = values[(r * 64)..<((r + 1) * 64)]
            let largest = row.map(abs).max()!
            XCTAssertEqual(scales[r], largest / 127, accuracy: largest / 127 * 1e-3, "scale = max|row| / 127 (in f16)")
            let rowCodes = codes[(r * 64)..<((r + 1) * 64)]
            XCTAssertEqual(rowCodes.map(abs).max(), 127, "the largest weight of a row uses the full range")
            for (v, c) in zip(row, rowCodes) { XCTAssertEqual(c, max(-127, min(127, Int((v / scales[r]).rounded()))), "q = round(w / s), within ±127") }
        }
        let back = try Int8RowwiseWeights.dequantize(q, file: "test")
        XCTAssertEqual(Set(back.keys), ["w", "b"], "scale keys are consumed")
        let restored = back["w"]!.toArray()
        for i in values.indices {
            XCTAssertLessThanOrEqual(abs(restored[i] - values[i]), scales[i / 64] * 0.5 + 1e-7)
        }
    }

    func testModuleRoundTripsThroughAnInt8File() throws {
        let dir = try temporaryDirectory(self)
        let url = dir.appendingPathComponent("int8.safetensors")
        let source = TinyDecoder(vocab: 64, hidden: 64, seed: 5)
        try source.saveSafetensors(url, dtype: .int8)
        let file = try Safetensors.read(contentsOf: url)
        XCTAssertEqual(file.tensors["embed_tokens.weight"]?.dtype, .int8)
        XCTAssertEqual(file.tensors["norm.weight"]?.dtype, .float16)
        let f16 = dir.appendingPathComponent("f16.safetensors")
        try source.saveSafetensors(f16, dtype: .float16)
        let sizes = try [url, f16].map { try FileManager.default.attributesOfItem(atPath: $0.path)[.size] as! Int }
        XCTAssertLessThan(Double(sizes[0]), 0.6 * Double(sizes[1]), "int8 about halves an f16 file of mostly matrices")

        let target = TinyDecoder(vocab: 64, hidden: 64, seed: 6)
        try target.loadSafetensors(url)
        for ((key, p), (_, q)) in zip(source.namedParameters(), target.namedParameters()) {
            let a = p.value.toArray(), b = q.value.toArray()
            let largest = a.map(abs).max()!
            let difference = zip(a, b).map { abs($0 - $1) }.max()!
            // Half a step of the largest row is the bound for matrices; vectors only lose f16 precision.
            XCTAssertLessThanOrEqual(difference, largest / 127 * 0.5 + 1e-6, key)
        }
    }

    func testMissingOrWrongScalesAreNamed() throws {
        var g = RandomGenerator(seed: 4)
        var q = Int8RowwiseWeights.quantize(["layer.weight": Tensor.normal([32, 32], generator: &g)])
        var bad = q
        bad["layer.weight_scale"] = nil
        XCTAssertThrowsError(try Int8RowwiseWeights.dequantize(bad, file: "f.safetensors")) {
            XCTAssertTrue("\($0)".contains("f.safetensors") && "\($0)".contains("no row scales 'layer.weight_scale'"), "\($0)")
        }
        q["layer.weight_scale"] = Tensor.zeros([31])
        XCTAssertThrowsError(try Int8RowwiseWeights.dequantize(q, file: "f.safetensors")) {
            XCTAssertTrue("\($0)".contains("[31]"), "\($0)")
        }
    }
}
