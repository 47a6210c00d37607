// The benchmarks' own option parsing and checks: what `latte bench` shows as usage errors, word for word.
import XCTest
@testable import LatteBenchmarks

final class OptionParsingTests: XCTestCase {
    func testGemmShapesParseAndRejectWithTheCommandLinesMessage() throws {
        XCTAssertEqual(try GemmBenchmark.Shape.list(parsing: "64x576x1536,1x8x16"),
                       [GemmBenchmark.Shape(m: 64, k: 576, n: 1536), GemmBenchmark.Shape(m: 1, k: 8, n: 16)])
        XCTAssertEqual(GemmBenchmark.Shape(m: 1, k: 576, n: 1536).name, "1x576x1536")
        XCTAssertEqual(GemmBenchmark.defaultShapes.map(\.name), [
            "64x576x576", "64x576x1536", "64x1536x576", "256x576x576", "256x1536x1536", "256x1536x8960",
            "256x8960x1536", "1024x1024x1024", "1x576x1536", "1x1536x8960",
        ])
        for bad in ["8x8", "0x1x1", "axbxc", "1x2x3x4"] {
            XCTAssertThrowsError(try GemmBenchmark.Shape(parsing: bad)) {
                XCTAssertEqual("\($0)", "bad shape '\(bad)': expected MxKxN with positive integers, e.g. 64x576x1536")
            }
        }
        XCTAssertThrowsError(try GemmBenchmark.Options(repeats: 0).validate()) {
            XCTAssertEqual("\($0)", "--repeats must be at least 1, got 0")
        }
    }

    func testAttentionShapeParsesFourPositiveIntegers() throws {
        XCTAssertEqual(try KernelsBenchmark.AttentionShape(parsing: "1,12,256,64"),
                       KernelsBenchmark.AttentionShape(batch: 1, heads: 12, length: 256, headDim: 64))
        XCTAssertThrowsError(try KernelsBenchmark.AttentionShape(parsing: "1,2")) {
            XCTAssertEqual("\($0)", "--attention wants four positive integers B,H,T,D, got '1,2'")
        }
        XCTAssertThrowsError(try KernelsBenchmark.Options(length: 0).validate())
    }

    func testSampleAndVAEOptionChecks() throws {
        XCTAssertNoThrow(try SampleBenchmark.Options().validate())
        XCTAssertThrowsError(try SampleBenchmark.Options(groups: 2, layers: 3).validate()) {
            XCTAssertEqual("\($0)", "--layers (3) must be a positive multiple of --groups (2)")
        }
        XCTAssertThrowsError(try SampleBenchmark.Options(width: 128).validate())

        XCTAssertNoThrow(try VAEBenchmark.Options().validate())
        XCTAssertThrowsError(try VAEBenchmark.Options(sdBatch: 0).validate()) { XCTAssertEqual("\($0)", "--sd-batch must be > 0, got 0") }
        // The small model downsamples by 4: a 6×6 image cannot be encoded.
        XCTAssertThrowsError(try VAEBenchmark(.init(smallSize: 6, skipSD: true)).cases()) {
            XCTAssertEqual("\($0)", "small: size 6 is not a multiple of the downsampling factor 4")
        }
        XCTAssertEqual(try VAEBenchmark(.init()).cases().map(\.name), ["small", "sd-vae"])
    }
}
