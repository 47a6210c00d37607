import XCTest
import CLatteKernels
@testable import LatteKernels

/// Quantising float32 rows into Q8_0 / Q4_1 (`QuantizedGemv.quantize`): the bytes against ggml's
/// reference quantisers re-derived here from their definitions (Swift's Float16 rounds to nearest even,
/// as ggml's FP32_TO_FP16 does), and quantise → dequantise within what each format allows.
final class QuantizeRowsTests: XCTestCase {
    /// ggml's quantize_row_q8_0_ref / quantize_row_q4_1_ref for one row.
    static func reference(_ format: QuantizedFormat, _ x: [Float]) -> [UInt8] {
        var out: [UInt8] = []
        for b in 0..<(x.count / 32) {
            let xb = Array(x[(b * 32)..<(b * 32 + 32)])
            switch format {
            case .q8_0:
                let amax = xb.map(abs).max()!, d = amax / 127, id: Float = d != 0 ? 1 / d : 0
                out += withUnsafeBytes(of: Float16(d).bitPattern.littleEndian, Array.init)
                out += xb.map { UInt8(bitPattern: Int8(($0 * id).rounded(.toNearestOrAwayFromZero))) }
            case .q4_1:
                let lo = xb.min()!, hi = xb.max()!, d = (hi - lo) / 15, id: Float = d != 0 ? 1 / d : 0
                out += withUnsafeBytes(of: Float16(d).bitPattern.littleEndian, Array.init)
                out += withUnsafeBytes(of: Float16(lo).bitPattern.littleEndian, Array.init)
                let q = xb.map { min(15, Int(($0 - lo) * id + 0.5)) }
                out += (0..<16).map { UInt8(q[$0] | q[$0 + 16] << 4) }
            }
        }
        return out
    }

    /// Rows of mixed magnitudes (1e-6 … 100), offsets, a constant block and one of zeros.
    static func rows(_ rows: Int, _ columns: Int, seed: UInt64) -> [Float] {
        var random = TestRandom(seed: seed)
        var x = (0..<(rows * columns)).map { i -> Float in
            let scale: Float = [1e-6, 0.02, 1, 100][(i / 32) % 4]
            return random.next() * scale + ((i / 64) % 3 == 1 ? 0.5 * scale : 0)
        }
        for i in 0..<32 { x[i] = 0; x[32 + i] = 0.25 }
        return x
    }

    func testBytesMatchGGMLReference() {
        for format in QuantizedFormat.allCases {
            let (r, c) = (5, 160)
            let x = Self.rows(r, c, seed: 3), rb = format.rowBytes(columns: c)
            var bytes = [UInt8](repeating: 0xAA, count: r * rb)
            x.withUnsafeBufferPointer { xp in
                bytes.withUnsafeMutableBytes { QuantizedGemv.quantize(format: format, rows: r, columns: c, x: xp.baseAddress!, ldx: c, into: $0.baseAddress!, rowBytes: rb) }
            }
            for j in 0..<r {
                let expected = Self.reference(format, Array(x[(j * c)..<((j + 1) * c)]))
                XCTAssertEqual(Array(bytes[(j * rb)..<((j + 1) * rb)]), expected, "\(format) row \(j)")
            }
        }
    }

    /// |x − dequantise(quantise(x))| per block: Q8_0 ≤ d/2 + 127·|d − d₁₆| (the f16 scale's rounding);
    /// Q4_1 ≤ d/2 + 15·|d − d₁₆| + |m − m₁₆|. The largest error must also reach a third of the bound,
    /// so the bound is not vacuous.
    func testRoundTripWithinFormatBound() {
        for format in QuantizedFormat.allCases {
            let (r, c) = (7, 256)
            let x = Self.rows(r, c, seed: 11), rb = format.rowBytes(columns: c)
            var bytes = [UInt8](repeating: 0, count: r * rb), back = [Float](repeating: 0, count: r * c)
            x.withUnsafeBufferPointer { xp in
                bytes.withUnsafeMutableBytes { QuantizedGemv.quantize(format: format, rows: r, columns: c, x: xp.baseAddress!, ldx: c, into: $0.baseAddress!, rowBytes: rb) }
            }
            bytes.withUnsafeBytes { bp in
                back.withUnsafeMutableBufferPointer { QuantizedGemv.dequantize(format: format, rows: r, columns: c, weights: bp.baseAddress!, rowBytes: rb, into: $0.baseAddress!, ld: c) }
            }
            var worstRatio: Float = 0
            for b in 0..<(r * c / 32) {
                let xb = x[(b * 32)..<(b * 32 + 32)]
                let bound: Float
                switch format {
                case .q8_0:
                    let d = xb.map(abs).max()! / 127
                    bound = d / 2 + 127 * abs(d - Float(Float16(d))) + 1e-30
                case .q4_1:
                    let lo = xb.min()!, d = (xb.max()! - lo) / 15
                    bound = d / 2 + 15 * abs(d - Float(Float16(d))) + abs(lo - Float(Float16(lo))) + 1e-30
                }
                for i in b * 32..<(b * 32 + 32) {
                    let e = abs(x[i] - back[i])
                    XCTAssertLessThanOrEqual(e, bound * 1.0001, "\(format) element \(i): \(x[i]) came back \(back[i])")
                    worstRatio = max(worstRatio, e / bound)
                }
            }
            XCTAssertGreaterThan(worstRatio, 0.33, "\(format): errors far below the bound; is the test exercising rounding?")
        }
    }

    func testHalfScaleRoundsToNearestEven() {
        // d = amax/127 lands between halves; compare the stored bits with Float16's rounding over many values,
        // including subnormal-half scales (amax ~1e-6) and large ones.
        var random = TestRandom(seed: 9)
        for k in 0..<2000 {
            let amax = abs(random.next()) * Float([1e-7, 1e-5, 1, 1000, 60000][k % 5]) + 1e-9
            var x = [Float](repeating: 0, count: 32)
            x[k % 32] = k % 2 == 0 ? amax : -amax
            var block = [UInt8](repeating: 0, count: 34)
            x.withUnsafeBufferPointer { xp in
                block.withUnsafeMutableBytes { QuantizedGemv.quantize(format: .q8_0, rows: 1, columns: 32, x: xp.baseAddress!, ldx: 32, into: $0.baseAddress!, rowBytes: 34) }
            }
            let bits = UInt16(block[0]) | UInt16(block[1]) << 8
            XCTAssertEqual(bits, Float16(amax / 127).bitPattern, "amax \(amax)")
        }
    }

    func testRejectsPartialBlocks() {
        let x = [Float](repeating: 1, count: 48)
        var out = [UInt8](repeating: 0, count: 64)
        let rc = x.withUnsafeBufferPointer { xp in
            out.withUnsafeMutableBytes { latte_quant_quantize_rows(QuantizedFormat.q8_0.rawValue, 1, 48, xp.baseAddress!, 48, $0.baseAddress!, 51) }
        }
        XCTAssertEqual(rc, -1)
    }
}
