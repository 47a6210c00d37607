import Foundation
import LatteFormats
import LatteModels
import LatteTensor
import XCTest
import LatteTestSupport

/// Fixtures written by scripts/make_llama_fixtures.py (`folder` also names single files there).
enum LLaMAFixtures {
    static let tinyNames = ["tiny-gqa-untied", "tiny-mha-tied", "tiny-llama3-rope"]

    static func folder(_ name: String) throws -> URL {
        let base = try XCTUnwrap(Bundle.module.url(forResource: "Fixtures", withExtension: nil), "fixture folder missing")
        return base.appendingPathComponent("llama").appendingPathComponent(name)
    }

    static func reference(_ name: String) throws -> [String: Tensor] {
        try Safetensors.read(contentsOf: folder(name).appendingPathComponent("reference.safetensors")).tensors
    }

    /// The SmolLM2 GGUF from the asset cache (skipped without it, failed under CI=true).
    static func smolLM2() throws -> URL {
        try PinnedAssets.require("smollm2")
    }

    static func ids(_ values: [Int]) -> Tensor { Tensor(indices: values, shape: [1, values.count]) }

    /// Largest absolute difference between two tensors of equal shape.
    static func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        precondition(a.shape == b.shape, "shapes \(a.shape) and \(b.shape) differ")
        return zip(a.toArray(), b.toArray()).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
