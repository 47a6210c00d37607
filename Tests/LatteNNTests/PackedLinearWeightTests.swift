import Foundation
import XCTest
@testable import LatteKernels
@testable import LatteNN
import LatteTensor

/// Linear layers packed for inference (`packForInference`, `packLinearWeightsForInference`): the same
/// outputs bit for bit, the weight freed, and everything that needs the real weight refused clearly.
final class PackedLinearWeightTests: XCTestCase {
    final class TwoLayers: Module {
        let up: Linear, down: Linear, small: Linear
        init(generator g: inout RandomGenerator) {
            up = Linear(300, 100, generator: &g)
            down = Linear(100, 70, bias: false, generator: &g)
            small = Linear(8, 8, generator: &g)
        }
    }

    func testPackedLayerGivesTheSameOutputsAndFreesTheWeight() throws {
        var g = RandomGenerator(seed: 5)
        let model = TwoLayers(generator: &g)
        let x = Tensor.normal([2, 5, 300], generator: &g)
        let before = withoutGradient { model.down(model.up(x)) }.toArray()
        XCTAssertEqual(model.packLinearWeightsForInference(), 2, "up and down packed; small (64 values) left as it is")
        XCTAssertNotNil(model.up.packedWeight)
        XCTAssertNil(model.small.packedWeight)
        XCTAssertFalse(model.up.weight.isTrainable)
        XCTAssertEqual(model.up.weight.shape, [100, 300], "the placeholder keeps the shape (parameter counts, keys)")
        XCTAssertEqual(model.packLinearWeightsForInference(), 0, "packing twice does nothing")
        let after = withoutGradient { model.down(model.up(x)) }.toArray()
        XCTAssertEqual(after.map(\.bitPattern), before.map(\.bitPattern))
        // Saving would write the placeholder's zeros: refused, naming the layer.
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("packed-\(UUID().uuidString).safetensors")
        XCTAssertThrowsError(try model.saveSafetensors(url)) { error in
            XCTAssertTrue("\(error)".contains("up: its weight is packed for inference"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path))
    }

    func testWeightsWithTheirOwnKernelsStayUnpacked() {
        var g = RandomGenerator(seed: 6)
        let bf16 = Linear(128, 64, generator: &g)
        bf16.weight.assign(bf16.weight.value.to(.bfloat16))
        XCTAssertFalse(bf16.packForInference(), "a bf16 weight keeps its own path")
        let direct = Linear(128, 64, generator: &g)
        direct.readsBFloat16Directly = true
        XCTAssertFalse(direct.packForInference())
        let trained = Linear(128, 64, generator: &g)
        let arena = trained.packParameters()
        XCTAssertFalse(trained.packForInference(), "a weight in a training arena is being trained")
        withExtendedLifetime(arena) {}
    }
}
