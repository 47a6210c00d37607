import Foundation
import LatteFormats
import LatteModels
import LatteTensor
import XCTest

/// Fixtures written by scripts/make_qwen2vl_fixtures.py.
enum Qwen2VLFixtures {
    /// tiny-a: transformers 5.x config layout; tiny-b: the Hub's flat layout, tied embeddings.
    static let tinyNames = ["tiny-a", "tiny-b"]

    static func folder(_ name: String) throws -> URL {
        let base = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "fixture folder missing")
        return base.appendingPathComponent("qwen2vl").appendingPathComponent(name)
    }

    static func reference(_ name: String) throws -> [String: Tensor] {
        try Safetensors.read(contentsOf: folder(name).appendingPathComponent("reference.safetensors")).tensors
    }

    static func grids(_ t: Tensor) -> [Qwen2VLImageGrid] {
        let v = t.toIntArray()
        return stride(from: 0, to: v.count, by: 3).map { Qwen2VLImageGrid(t: v[$0], h: v[$0 + 1], w: v[$0 + 2]) }
    }

    /// The tiny model's own images through its own preprocessor_config.json.
    static func vision(_ name: String, count: Int) throws -> Qwen2VLVisionInput {
        let f = try folder(name)
        let processor = try Qwen2VLImageProcessor(preprocessorConfig: f.appendingPathComponent("preprocessor_config.json"))
        let images = try (0..<count).map { try ImageFile.read(f.appendingPathComponent("image\($0).png").path) }
        return try processor(images)
    }

    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape) differ")
        return zip(a.toArray(), b.toArray()).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
