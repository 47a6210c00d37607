import Foundation
import XCTest
import LatteTensor
@testable import LatteModels

/// DC-AE's layout ops against torch (scripts/make_autoencoder_dc_fixtures.py).
final class AutoencoderDCOpsTests: XCTestCase {
    private func fixtures() throws -> [String: Tensor] {
        let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("autoencoders/dc_ops/ops.safetensors")
        return try Safetensors.read(contentsOf: url).tensors
    }

    private func assertClose(_ got: Tensor, _ want: Tensor?, _ what: String, tolerance: Float = 1e-5, file: StaticString = #filePath, line: UInt = #line) {
        guard let want else { return XCTFail("fixture lacks \(what)", file: file, line: line) }
        XCTAssertEqual(got.shape, want.shape, what, file: file, line: line)
        let a = got.toArray(), b = want.toArray()
        guard a.count == b.count else { return }
        let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
        XCTAssertLessThanOrEqual(worst, tolerance, "\(what): max |Δ| \(worst)", file: file, line: line)
    }

    func testLayoutOpsMatchTorch() throws {
        let t = try fixtures()
        let x = try XCTUnwrap(t["x"])
        assertClose(x.pixelUnshuffled(2), t["unshuffle2"], "pixel_unshuffle")
        assertClose(x.pixelUnshuffled(2).pixelShuffled(2), t["shuffle2"], "pixel_shuffle")
        assertClose(x.spaceToChannelShortcut(factor: 2, outChannels: 8), t["down_shortcut_8"], "down shortcut")
        assertClose(x.channelToSpaceShortcut(factor: 2, outChannels: 3), t["up_shortcut_3"], "up shortcut")
        assertClose(x.channelRMSNormed(weight: t["rms_weight"], bias: t["rms_bias"], eps: 1e-5), t["rms"], "RMSNorm2d")
    }

    /// The shortcuts carry gradients back through the views (training a DC-AE needs them).
    func testShortcutGradientIsTheAdjoint() throws {
        let x = Tensor((0..<16).map { Float($0) }, shape: [1, 4, 2, 2])
        // 16 unshuffled channels averaged in groups of 4: every input enters one mean of 4 values.
        let (value, grads) = valueAndGradient(at: [x]) { $0[0].spaceToChannelShortcut(factor: 2, outChannels: 4).sum() }
        XCTAssertEqual(value.item(), (0..<16).map { Float($0) }.reduce(0, +) / 4, accuracy: 1e-4)
        XCTAssertEqual(grads[0].toArray(), [Float](repeating: 0.25, count: 16))
    }

    /// One DC-AE ResBlock loaded with strict keys from a diffusers state dict matches torch's output.
    func testResBlockMatchesDiffusers() throws {
        let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("autoencoders/dc_ops")
        let block = DCResBlock(8, 8)
        try block.loadSafetensors(folder.appendingPathComponent("resblock_weights.safetensors"))
        let io = try Safetensors.read(contentsOf: folder.appendingPathComponent("resblock_io.safetensors")).tensors
        assertClose(block(try XCTUnwrap(io["x"])), io["y"], "ResBlock", tolerance: 1e-4)
    }

    /// EfficientViTBlock's GLUMBConv (depthwise conv, gated SiLU, channel RMSNorm) against diffusers.
    func testGLUMBConvMatchesDiffusers() throws {
        let folder = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("autoencoders/dc_ops")
        let block = GLUMBConv(4)
        try block.loadSafetensors(folder.appendingPathComponent("glumbconv_weights.safetensors"))
        let io = try Safetensors.read(contentsOf: folder.appendingPathComponent("glumbconv_io.safetensors")).tensors
        assertClose(block(try XCTUnwrap(io["x"])), io["y"], "GLUMBConv", tolerance: 1e-4)
    }
}
