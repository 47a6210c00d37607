import XCTest
@testable import LatteTensor

final class SafetensorsCheckpointTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func testShardedRoundTripKeepsDTypes() throws {
        var tensors: [String: Tensor] = [:]
        for i in 0..<7 { tensors["model.layers.\(i).weight"] = randomTensor([8, 9], seed: UInt64(i)).to(i % 2 == 0 ? .bfloat16 : .float32) }
        try SafetensorsCheckpoint.writeSharded(tensors, to: dir, maxShardBytes: 600)
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        XCTAssertTrue(names.contains("model.safetensors.index.json"))
        XCTAssertGreaterThan(names.filter { $0.hasPrefix("model-0") }.count, 2)
        let ckpt = try SafetensorsCheckpoint.open(folder: dir)
        XCTAssertEqual(Set(ckpt.tensors.keys), Set(tensors.keys))
        for (k, t) in tensors {
            XCTAssertEqual(ckpt.tensors[k]!.dtype, t.dtype)
            XCTAssertEqual(ckpt.tensors[k]!.toArray(), t.toArray())
        }
    }

    func testSingleFileAndErrors() throws {
        try Safetensors.write(["a": Tensor([1, 2])], to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        XCTAssertEqual(try SafetensorsCheckpoint.open(folder: dir).tensors["a"]!.toArray(), [1, 2])

        let bad = dir.appendingPathComponent("bad")
        try FileManager.default.createDirectory(at: bad, withIntermediateDirectories: true)
        XCTAssertThrowsError(try SafetensorsCheckpoint.open(folder: bad)) { XCTAssertTrue("\($0)".contains("no .safetensors")) }
        let index = bad.appendingPathComponent("model.safetensors.index.json")
        try #"{"weight_map": {"w": "model-00001-of-00001.safetensors"}}"#.write(to: index, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SafetensorsCheckpoint.open(folder: bad)) { XCTAssertTrue("\($0)".contains("missing")) }
        try Safetensors.write(["other": Tensor([1])], to: bad.appendingPathComponent("model-00001-of-00001.safetensors"))
        XCTAssertThrowsError(try SafetensorsCheckpoint.open(folder: bad)) { XCTAssertTrue("\($0)".contains("does not hold it")) }
        try #"{"weight_map": {"w": "../escape.safetensors"}}"#.write(to: index, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SafetensorsCheckpoint.open(folder: bad)) { XCTAssertTrue("\($0)".contains("outside")) }
        try #"{"nothing": 1}"#.write(to: index, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try SafetensorsCheckpoint.open(folder: bad)) { XCTAssertTrue("\($0)".contains("weight_map")) }
    }
}
