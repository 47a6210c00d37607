import XCTest
@testable import LatteTensor

final class SafetensorsTests: XCTestCase {
    var tmp: URL!

    override func setUpWithError() throws {
        tmp = FileManager.default.temporaryDirectory.appendingPathComponent("latte-st-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: tmp) }

    func testReadsReferenceFile() throws {
        let url = Bundle.module.url(forResource: "reference", withExtension: "safetensors", subdirectory: "Fixtures")!
        let f = try Safetensors.read(contentsOf: url)
        XCTAssertEqual(f.metadata, ["format": "pt", "note": "reference"])
        let w = f.tensors["model.layers.0.weight"]!
        XCTAssertEqual(w.shape, [3, 4])
        XCTAssertEqual(w.toArray(), (0..<12).map { Float($0) / 8 - 0.5 })
        XCTAssertEqual(f.tensors["half"]!.dtype, .float16)
        XCTAssertEqual(f.tensors["half"]!.toArray(), [1, -2.5, 65504, 0.000061035156])
        XCTAssertEqual(f.tensors["ids"]!.toIntArray(), [1, -7, 300, 4])
        XCTAssertEqual(f.tensors["mask"]!.toIntArray(), [0, 1, 255])
        XCTAssertEqual(f.tensors["count"]!.toIntArray(), [42])
        XCTAssertEqual(f.tensors["bf16"]!.toArray(), [1, -3, 0.15625])
    }

    func testRoundTripAllTypes() throws {
        let url = tmp.appendingPathComponent("a.safetensors")
        let x = randomTensor([3, 5], seed: 1)
        let tensors: [String: Tensor] = [
            "x": x, "xt": x.T,   // a strided view is written dense
            "h": x.to(.float16), "b": x.to(.bfloat16), "i": Tensor(indices: [5, -2]),
        ]
        try Safetensors.write(tensors, metadata: ["step": "7", "quote\"key": "a\nb"], to: url)
        let f = try Safetensors.read(contentsOf: url)
        XCTAssertEqual(f.metadata["step"], "7")
        XCTAssertEqual(f.metadata["quote\"key"], "a\nb")
        XCTAssertEqual(f.tensors["x"]!.toArray(), x.toArray())
        XCTAssertEqual(f.tensors["xt"]!.toArray(), x.T.contiguous().toArray())
        XCTAssertEqual(f.tensors["h"]!.toArray(), x.to(.float16).toArray())
        XCTAssertEqual(f.tensors["b"]!.dtype, .bfloat16)
        XCTAssertEqual(f.tensors["i"]!.toIntArray(), [5, -2])
        // No temporary files are left behind.
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), ["a.safetensors"])
    }

    func testOverwriteIsAtomicAndKeepsOldFileOnFailure() throws {
        let url = tmp.appendingPathComponent("ckpt.safetensors")
        try Safetensors.write(["a": Tensor([1, 2])], to: url)
        struct Boom: Error {}
        XCTAssertThrowsError(try writeAtomically(url) { h in h.write(Data([1, 2, 3])); throw Boom() })
        XCTAssertEqual(try Safetensors.read(contentsOf: url).tensors["a"]!.toArray(), [1, 2])
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: tmp.path), ["ckpt.safetensors"])
    }

    func testBadFilesAreRejectedWithNamedProblems() throws {
        let good = tmp.appendingPathComponent("good.safetensors")
        try Safetensors.write(["weight": Tensor([1, 2, 3, 4], shape: [2, 2])], to: good)
        let bytes = try Data(contentsOf: good)
        func expectError(_ data: Data, containing fragment: String, line: UInt = #line) {
            let url = tmp.appendingPathComponent("bad-\(line).safetensors")
            try! data.write(to: url)
            XCTAssertThrowsError(try Safetensors.read(contentsOf: url), line: line) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(url.path), "error does not name the file: \(message)", line: line)
                XCTAssertTrue(message.contains(fragment), "error '\(message)' lacks '\(fragment)'", line: line)
            }
        }
        func header(_ json: String, data: Int) -> Data {
            var h = Data(count: 8)
            h.withUnsafeMutableBytes { $0.storeBytes(of: UInt64(json.utf8.count).littleEndian, as: UInt64.self) }
            return h + Data(json.utf8) + Data(count: data)
        }
        expectError(Data([1, 2, 3]), containing: "shorter than")
        expectError(bytes.prefix(bytes.count - 4), containing: "outside")                       // truncated data
        expectError(bytes.prefix(20), containing: "runs past the end")                          // truncated header
        var huge = Data(count: 8)
        huge.withUnsafeMutableBytes { $0.storeBytes(of: UInt64.max, as: UInt64.self) }
        expectError(huge + Data(count: 16), containing: "exceeds")
        expectError(header("[1,2]", data: 0), containing: "not a JSON object")
        expectError(header("{\"w\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", data: 8), containing: "unsupported dtype F64")
        expectError(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", data: 8), containing: "needs 12")
        expectError(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", data: 4), containing: "invalid dimension")
        expectError(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904, 4],\"data_offsets\":[0,4]}}", data: 4), containing: "invalid dimension")
        expectError(header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", data: 4), containing: "data_offsets")
        expectError(header("{\"__metadata__\":{\"a\":1}}", data: 0), containing: "not a string")
        XCTAssertThrowsError(try Safetensors.read(contentsOf: tmp.appendingPathComponent("missing.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("cannot open"))
        }
    }
}
