import Foundation
import LatteFormats
import LatteModels
import LatteTensor
import XCTest

/// Qwen2VLImageProcessor against transformers' Pillow-backend processor (pixel values and grids).
final class Qwen2VLProcessorTests: XCTestCase {
    struct Case: Decodable { let name: String; let min_pixels: Int; let max_pixels: Int }

    func testPixelValuesAndGridsMatchTransformers() throws {
        let folder = try Qwen2VLFixtures.folder("processor")
        let cases = try JSONDecoder().decode([Case].self, from: Data(contentsOf: folder.appendingPathComponent("cases.json")))
        let ref = try Safetensors.read(contentsOf: folder.appendingPathComponent("reference.safetensors")).tensors
        XCTAssertGreaterThanOrEqual(cases.count, 5)
        for c in cases {
            let image = try ImageFile.read(folder.appendingPathComponent("\(c.name).png").path)
            let processor = Qwen2VLImageProcessor(minPixels: c.min_pixels, maxPixels: c.max_pixels)
            let out = try processor([image])
            let expectedGrid = Qwen2VLFixtures.grids(try XCTUnwrap(ref["\(c.name).grid"]))
            XCTAssertEqual(out.grids, expectedGrid, c.name)
            let expected = try XCTUnwrap(ref["\(c.name).pixel_values"])
            XCTAssertEqual(out.pixelValues.shape, expected.shape, c.name)
            guard out.pixelValues.shape == expected.shape else { continue }
            let diff = Qwen2VLFixtures.maxDifference(out.pixelValues, expected)
            XCTAssertLessThan(diff, 1e-5, "\(c.name): max |Δpixel| = \(diff)")
            print("\(c.name) → grid \(out.grids[0]): max |Δpixel| = \(diff)")
        }
    }

    func testSmartResizeBranches() throws {
        // Rounds halves to even like Python: 70/28 = 2.5 → 2.
        XCTAssertTrue(try Qwen2VLImageProcessor.smartResize(height: 70, width: 70) == (56, 56))
        // Within bounds the area stays between min and max pixels, sides multiples of 28.
        for (h, w) in [(1, 150), (3000, 4000), (480, 640), (29, 29)] {
            let r = try Qwen2VLImageProcessor.smartResize(height: h, width: w, minPixels: 56 * 56, maxPixels: 28 * 28 * 64)
            XCTAssertEqual(r.height % 28, 0); XCTAssertEqual(r.width % 28, 0)
            XCTAssertLessThanOrEqual(r.height * r.width, 28 * 28 * 64, "\(h)×\(w)")
            XCTAssertGreaterThanOrEqual(r.height * r.width, 56 * 56, "\(h)×\(w)")
        }
        XCTAssertThrowsError(try Qwen2VLImageProcessor.smartResize(height: 1, width: 201)) { error in
            XCTAssertTrue("\(error)".contains("aspect ratio"), "\(error)")
        }
    }

    func testReadsBothPreprocessorConfigLayouts() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qwen2vl-pre-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        // The Hub checkpoints' layout: min/max pixels at the top level.
        let hub = dir.appendingPathComponent("hub.json")
        try Data(#"{"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "merge_size": 2, "temporal_patch_size": 2, "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25]}"#.utf8).write(to: hub)
        let p = try Qwen2VLImageProcessor(preprocessorConfig: hub)
        XCTAssertEqual(p.maxPixels, 12845056)
        XCTAssertEqual(p.mean, [0.5, 0.5, 0.5])
        // transformers 5.x: size.shortest_edge / longest_edge (the tiny fixtures').
        let tiny = try Qwen2VLImageProcessor(preprocessorConfig: Qwen2VLFixtures.folder("tiny-a").appendingPathComponent("preprocessor_config.json"))
        XCTAssertEqual(tiny.maxPixels, 28 * 28 * 16)
        XCTAssertEqual(tiny.minPixels, 56 * 56)
        let bad = dir.appendingPathComponent("bad.json")
        try Data(#"{"size": {"shortest_edge": "many"}}"#.utf8).write(to: bad)
        XCTAssertThrowsError(try Qwen2VLImageProcessor(preprocessorConfig: bad)) { error in
            XCTAssertTrue("\(error)".contains("bad.json") && "\(error)".contains("size.shortest_edge"), "\(error)")
        }
    }
}
