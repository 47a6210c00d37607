import XCTest
@testable import LatteKernels

/// Random GGUF blocks, decoded here independently of the C code (straight from the block layout), and
/// the fused kernels of every family this CPU runs checked against "dequantise, then float64 dot". The
/// GEMV quantises x to int8 per 32-block (see latte_quant.h), so it is held to that rounding's bound
/// Σ_b (dx_b/2)·Σ|d·q|; the families must also agree with each other to float rounding.
final class QuantizedGemvTests: XCTestCase {
    /// A quantised [rows, columns] matrix with its exact float values as the layout defines them.
    struct Blocks {
        let format: QuantizedFormat
        let rows: Int, columns: Int
        var bytes: [UInt8]
        var values: [Float]
        /// |d·q| per weight: what x's int8 rounding multiplies (Q4_1's offset m meets the exact Σx).
        var scaledMagnitudes: [Float]
        var rowBytes: Int { format.rowBytes(columns: columns) }

        init(_ format: QuantizedFormat, rows: Int, columns: Int, random: inout TestRandom) {
            (self.format, self.rows, self.columns) = (format, rows, columns)
            bytes = []
            values = []
            scaledMagnitudes = []
            for _ in 0..<(rows * columns / 32) {
                // Scales of different magnitudes, as real layers have.
                let d = Float16(random.next() * 0.05), m = Float16(random.next() * 0.2)
                bytes += withUnsafeBytes(of: d.bitPattern.littleEndian, Array.init)
                var block = [Float](repeating: 0, count: 32)
                switch format {
                case .q8_0:
                    for i in 0..<32 {
                        let q = Int8(clamping: Int((random.next() * 128).rounded(.down)))
                        bytes.append(UInt8(bitPattern: q))
                        block[i] = Float(d) * Float(q)
                        scaledMagnitudes.append(abs(block[i]))
                    }
                case .q4_1:
                    bytes += withUnsafeBytes(of: m.bitPattern.littleEndian, Array.init)
                    for i in 0..<16 {
                        let lo = UInt8(Int((random.next() + 1) * 8) & 15), hi = UInt8(Int((random.next() + 1) * 8) & 15)
                        bytes.append(lo | hi << 4)
                        // GGUF: element i in the low nibble, element i + 16 in the high nibble.
                        block[i] = Float(d) * Float(lo) + Float(m)
                        block[i + 16] = Float(d) * Float(hi) + Float(m)
                    }
                    scaledMagnitudes += (0..<32).map { abs(block[$0] - Float(m)) }
                }
                values += block
            }
        }
    }

    var kernels: [GemmKernel] { GemmKernel.allCases.filter { $0.supportsQuantizedKernels } }

    func testBlockLayoutsByHand() {
        // Q4_1, d = 1, m = -2: byte i holds i (low) and 15 - i (high).
        var q41: [UInt8] = [0x00, 0x3c, 0x00, 0xc0]  // f16 1.0, f16 -2.0
        q41 += (0..<16).map { UInt8($0) | UInt8(15 - $0) << 4 }
        let expected41 = (0..<16).map { Float($0) - 2 } + (0..<16).map { Float(15 - $0) - 2 }
        // Q8_0, d = 0.5, q = i - 16.
        let q80: [UInt8] = [0x00, 0x38] + (0..<32).map { UInt8(bitPattern: Int8($0 - 16)) }
        let expected80 = (0..<32).map { Float($0 - 16) * 0.5 }
        for (format, bytes, expected) in [(QuantizedFormat.q4_1, q41, expected41), (.q8_0, q80, expected80)] {
            var out = [Float](repeating: .nan, count: 32)
            bytes.withUnsafeBytes { w in
                QuantizedGemv.dequantize(format: format, rows: 1, columns: 32, weights: w.baseAddress!,
                                         rowBytes: format.blockBytes, into: &out, ld: 32)
            }
            XCTAssertEqual(out, expected, "\(format)")
            // A one-hot x picks single weights through the fused kernels too.
            for kernel in kernels {
                for i in [0, 5, 15, 16, 31] {
                    var x = [Float](repeating: 0, count: 32)
                    x[i] = 1
                    var y: Float = .nan
                    bytes.withUnsafeBytes { w in
                        QuantizedGemv.gemv(format: format, rows: 1, columns: 32, weights: w.baseAddress!,
                                           rowBytes: format.blockBytes, x: x, y: &y, kernel: kernel, threads: 1)
                    }
                    // x quantises to 127 · (1/127): exact up to a float rounding.
                    XCTAssertEqual(y, expected[i], accuracy: 1e-6 * abs(expected[i]) + 1e-7, "\(format) \(kernel.name) element \(i)")
                }
            }
        }
    }

    func testDequantizeMatchesLayout() {
        var random = TestRandom(seed: 11)
        for format in QuantizedFormat.allCases {
            let m = Blocks(format, rows: 7, columns: 96, random: &random)
            var out = [Float](repeating: .nan, count: 7 * 100)
            m.bytes.withUnsafeBytes { w in
                QuantizedGemv.dequantize(format: format, rows: 7, columns: 96, weights: w.baseAddress!,
                                         rowBytes: m.rowBytes, into: &out, ld: 100)
            }
            for r in 0..<7 {
                XCTAssertEqual(Array(out[(r * 100)..<(r * 100 + 96)]), Array(m.values[(r * 96)..<(r * 96 + 96)]), "\(format) row \(r)")
            }
        }
    }

    func testGemvEveryKernelOddRows() {
        XCTAssertTrue(kernels.contains(.generic))
        var random = TestRandom(seed: 3)
        for format in QuantizedFormat.allCases {
            // 32 800 columns: x no longer fits the kernel's stack buffer (32 768) and goes to the heap.
            for (rows, columns) in [(1, 32), (3, 64), (7, 96), (97, 576), (130, 1536), (5, 32_800)] {
                let m = Blocks(format, rows: rows, columns: columns, random: &random)
                let x = random.fill(columns)
                var generic = [Float](repeating: .nan, count: rows)
                m.bytes.withUnsafeBytes { w in
                    QuantizedGemv.gemv(format: format, rows: rows, columns: columns, weights: w.baseAddress!,
                                       rowBytes: m.rowBytes, x: x, y: &generic, kernel: .generic, threads: 1)
                }
                for kernel in kernels {
                    for threads in [1, 2] {
                        var y = [Float](repeating: .nan, count: rows)
                        m.bytes.withUnsafeBytes { w in
                            QuantizedGemv.gemv(format: format, rows: rows, columns: columns, weights: w.baseAddress!,
                                               rowBytes: m.rowBytes, x: x, y: &y, kernel: kernel, threads: threads)
                        }
                        assertClose(y, reference(m, x: x, count: 1), "\(format) \(kernel.name) \(rows)×\(columns) threads \(threads)")
                        // Same integers in every family: only the float summation order differs.
                        let ref = reference(m, x: x, count: 1)
                        for j in 0..<rows {
                            XCTAssertEqual(y[j], generic[j], accuracy: Float(ref.magnitude[j]) * 1e-5,
                                           "\(format) \(kernel.name) vs generic, row \(j) of \(rows)×\(columns)")
                        }
                    }
                }
            }
        }
    }

    func testMatmulPanelsAndSmallBatches() {
        var random = TestRandom(seed: 5)
        for format in QuantizedFormat.allCases {
            for (batch, rows, columns) in [(2, 9, 64), (5, 101, 96), (17, 200, 160)] {
                let m = Blocks(format, rows: rows, columns: columns, random: &random)
                let x = random.fill(batch * columns)
                for kernel in kernels {
                    var y = [Float](repeating: .nan, count: batch * rows)
                    m.bytes.withUnsafeBytes { w in
                        QuantizedGemv.matmul(format: format, rows: rows, columns: columns, weights: w.baseAddress!,
                                             rowBytes: m.rowBytes, x: x, m: batch, y: &y, kernel: kernel)
                    }
                    assertClose(y, reference(m, x: x, count: batch), "\(format) \(kernel.name) batch \(batch) \(rows)×\(columns)")
                }
            }
        }
    }

    /// y[i, j] = Σ_k x[i, k]·W[j, k] in float64, Σ|x·w| (float rounding), and the bound of x's int8
    /// rounding: Σ_b (max|x_b|/254)·Σ_{k in b}|d·q|.
    private func reference(_ m: Blocks, x: [Float], count: Int) -> (value: [Double], magnitude: [Double], rounding: [Double]) {
        var value = [Double](), magnitude = [Double](), rounding = [Double]()
        for i in 0..<count {
            for j in 0..<m.rows {
                var s = 0.0, a = 0.0, r = 0.0
                for b in 0..<(m.columns / 32) {
                    var amax = 0.0, scaled = 0.0
                    for p in (b * 32)..<(b * 32 + 32) {
                        let xv = Double(x[i * m.columns + p])
                        let t = xv * Double(m.values[j * m.columns + p])
                        s += t
                        a += abs(t)
                        amax = max(amax, abs(xv))
                        scaled += Double(m.scaledMagnitudes[j * m.columns + p])
                    }
                    r += amax / 254 * scaled
                }
                value.append(s)
                magnitude.append(a)
                rounding.append(r)
            }
        }
        return (value, magnitude, rounding)
    }

    private func assertClose(_ y: [Float], _ ref: (value: [Double], magnitude: [Double], rounding: [Double]), _ what: String,
                             file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(y.count, ref.value.count, what, file: file, line: line)
        var worst = 0.0
        for (i, v) in y.enumerated() {
            // The int8 rounding bound plus float32 accumulation (a few ulps of the magnitude sum).
            let allowed = ref.rounding[i] * 1.001 + ref.magnitude[i] * 4e-6 + 1e-30
            let err = abs(Double(v) - ref.value[i]) / allowed
            worst = max(worst, err.isNaN ? .infinity : err)
        }
        XCTAssertLessThanOrEqual(worst, 1, "\(what): error \(worst) × the allowed bound", file: file, line: line)
    }
}
