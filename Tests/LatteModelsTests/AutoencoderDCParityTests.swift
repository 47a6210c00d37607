import Foundation
import XCTest
import LatteNN
import LatteTensor
@testable import LatteModels

/// Whole AutoencoderDC models against diffusers (scripts/make_autoencoder_dc_fixtures.py): tiny
/// random configs covering both block types, both sampling variants of each side, both norms,
/// latent shortcuts on and off, a first stage without layers, and both attention forms.
final class AutoencoderDCParityTests: XCTestCase {
    static func folder(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("autoencoders").appendingPathComponent(name)
    }

    static func io(_ name: String) throws -> [String: Tensor] {
        try Safetensors.read(contentsOf: folder(name).appendingPathComponent("io.safetensors")).tensors
    }

    private func maxDifference(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        return zip(a.toArray(), b.toArray()).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
    }

    private func checkParity(_ name: String, suffix: String = "") throws {
        let model = try AutoencoderDC.load(directory: Self.folder(name))
        let io = try Self.io(name)
        let x = try XCTUnwrap(io["input" + suffix]), z = try XCTUnwrap(io["latent" + suffix])
        let dz = maxDifference(model.encode(x), z)
        let dy = maxDifference(model.decode(z), try XCTUnwrap(io["decoded" + suffix]))
        print("AutoencoderDC parity \(name)\(suffix): max |diff| latent \(dz), decode \(dy)")
        XCTAssertLessThan(dz, 1e-4, "\(name)\(suffix) latent")
        XCTAssertLessThan(dy, 1e-4, "\(name)\(suffix) decode")
    }

    /// ResBlock + EfficientViTBlock (linear attention), pixel (un)shuffle, both latent shortcuts.
    func testResidualAndViTModelMatchesDiffusers() throws {
        try checkParity("dc_resvit")
        let model = try AutoencoderDC.load(directory: Self.folder("dc_resvit"))
        XCTAssertEqual(model.spatialCompressionRatio, 4)
        let z = Tensor([0.5, -1, 2], shape: [3])
        let scaled = model.scaledLatent(z).toArray(), back = model.unscaledLatent(model.scaledLatent(z)).toArray()
        for (i, v) in z.toArray().enumerated() {
            XCTAssertEqual(scaled[i], v * 0.41407, accuracy: 1e-6)
            XCTAssertEqual(back[i], v, accuracy: 1e-6)
        }
    }

    /// SANA-like layout: stage 0 without layers, strided-conv down, interpolate up, batch_norm+relu
    /// decoder stages, two multiscale branches, no shortcuts; at 32×32 (linear attention) and at
    /// 16×16, where the deepest stage is 2×2 = head_dim pixels and diffusers switches to quadratic attention.
    func testSanaLayoutModelMatchesDiffusersInBothAttentionForms() throws {
        try checkParity("dc_sana")
        try checkParity("dc_sana", suffix: "_16")
    }

    /// The "in-1.0" pattern: stage 0 without layers through pixel (un)shuffle sampling blocks,
    /// EfficientViT without multiscale branches, BatchNorm in a decoder attention stage, GELU.
    func testInLayoutModelMatchesDiffusers() throws { try checkParity("dc_in") }

    /// The loader drops only BatchNorm's integer counters; the model's keys are diffusers' keys.
    func testKeysAreDiffusersKeys() throws {
        let model = try AutoencoderDC.load(directory: Self.folder("dc_sana"))
        let stored = try Safetensors.read(contentsOf: Self.folder("dc_sana").appendingPathComponent("diffusion_pytorch_model.safetensors")).tensors
        let ours = Set(model.namedParameters().map(\.key))
        let theirs = Set(stored.keys.filter { !$0.hasSuffix("num_batches_tracked") })
        XCTAssertEqual(ours, theirs)
        XCTAssertTrue(stored.keys.contains { $0.hasSuffix("num_batches_tracked") }, "fixture should exercise the counters")
        XCTAssertTrue(ours.contains("encoder.conv_in.conv.weight"))
        XCTAssertTrue(ours.contains("decoder.up_blocks.2.0.conv.weight"))
        XCTAssertTrue(ours.contains("decoder.up_blocks.1.1.norm.running_var"))
        XCTAssertTrue(ours.contains("encoder.down_blocks.2.0.attn.to_qkv_multiscale.1.proj_out.weight"))
    }

    /// Released DC-AE layouts at full size (SANA's f32c32, the f32c32-in variant with empty first
    /// stages and BatchNorm, diffusers' defaults): the same checkpoint keys with the same shapes as
    /// diffusers builds, compared through a digest written by the fixture script.
    func testReleasedLayoutsHaveDiffusersKeysAndShapes() throws {
        let url = Self.folder("dc_released_layouts.json")
        let layouts = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: [String: Any]])
        XCTAssertEqual(layouts.count, 3)
        for (name, entry) in layouts.sorted(by: { $0.key < $1.key }) {
            let configData = try JSONSerialization.data(withJSONObject: try XCTUnwrap(entry["config"]))
            let configuration = try JSONDecoder().decode(AutoencoderDCConfiguration.self, from: configData)
            var maker = LayerMaker()   // placeholders: no memory for 300 M parameters
            let model = try AutoencoderDC(configuration, maker: &maker)
            let params = model.namedParameters().sorted { $0.key < $1.key }
            var h: UInt64 = 0xCBF2_9CE4_8422_2325
            for (key, p) in params {
                for b in "\(key):\(p.shape)\n".utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
            }
            XCTAssertEqual(params.count, entry["tensors"] as? Int, "\(name) tensor count")
            XCTAssertEqual(params.reduce(0) { $0 + $1.parameter.count }, entry["elements"] as? Int, "\(name) elements")
            XCTAssertEqual(String(h, radix: 16), entry["digest"] as? String, "\(name) keys and shapes")
        }
    }

    // MARK: strict loading

    private func copyFixture(_ name: String, editing edit: (inout [String: Tensor]) -> Void) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dcae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Self.folder(name).appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        var tensors = try Safetensors.read(contentsOf: Self.folder(name).appendingPathComponent("diffusion_pytorch_model.safetensors")).tensors
        edit(&tensors)
        try Safetensors.write(tensors, to: dir.appendingPathComponent("diffusion_pytorch_model.safetensors"))
        return dir
    }

    private func assertLoadFails(_ dir: URL, mentions needles: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try AutoencoderDC.load(directory: dir), file: file, line: line) { error in
            let text = "\(error)"
            for n in needles { XCTAssertTrue(text.contains(n), "error does not mention \(n): \(text)", file: file, line: line) }
        }
    }

    func testMissingKeyIsNamed() throws {
        let key = "encoder.down_blocks.2.0.attn.to_k.weight"
        let dir = try copyFixture("dc_resvit") { $0[key] = nil }
        assertLoadFails(dir, mentions: ["missing", key, "diffusion_pytorch_model.safetensors"])
    }

    func testWrongShapeIsNamed() throws {
        let key = "decoder.up_blocks.1.0.conv.weight"
        let dir = try copyFixture("dc_resvit") { t in t[key] = Tensor.zeros([3, 3, 3, 3]) }
        assertLoadFails(dir, mentions: ["shape mismatch", key, "[3, 3, 3, 3]"])
    }

    func testUnexpectedKeyIsNamed() throws {
        let dir = try copyFixture("dc_sana") { $0["decoder.extra.weight"] = Tensor.zeros([2]) }
        assertLoadFails(dir, mentions: ["unexpected", "decoder.extra.weight"])
    }

    func testMissingWeightsFileIsNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dcae-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Self.folder("dc_sana").appendingPathComponent("config.json"), to: dir.appendingPathComponent("config.json"))
        assertLoadFails(dir, mentions: ["diffusion_pytorch_model.safetensors", "no such file"])
    }

    /// A saved model reloads to the same outputs (our own writer makes loadable diffusers folders).
    func testSaveLoadRoundTrip() throws {
        let model = try AutoencoderDC.load(directory: Self.folder("dc_sana"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("dcae-\(UUID().uuidString)")
        addTeardownBlock { try? FileManager.default.removeItem(at: dir) }
        try model.save(directory: dir)
        // BatchNorm's counters are written back as int64, as torch stores them.
        let written = try Safetensors.read(contentsOf: dir.appendingPathComponent("diffusion_pytorch_model.safetensors")).tensors
        let original = try Safetensors.read(contentsOf: Self.folder("dc_sana").appendingPathComponent("diffusion_pytorch_model.safetensors")).tensors
        XCTAssertEqual(Set(written.keys), Set(original.keys))
        XCTAssertEqual(written["decoder.up_blocks.1.1.norm.num_batches_tracked"]?.dtype, .int64)
        let again = try AutoencoderDC.load(directory: dir)
        XCTAssertEqual(again.configuration, model.configuration)
        let x = try XCTUnwrap(try Self.io("dc_sana")["input"])
        XCTAssertEqual(again.reconstruct(x).toArray(), model.reconstruct(x).toArray())
    }

    // MARK: training through the tape

    /// Gradients reach every trainable parameter (attention, multiscale convs, shortcuts, norms), and
    /// a finite-difference probe agrees with the tape on one attention weight.
    func testGradientsReachEveryParameterAndMatchFiniteDifferences() throws {
        let model = try AutoencoderDC.load(directory: Self.folder("dc_resvit"))
        let x = try XCTUnwrap(try Self.io("dc_resvit")["input"]).sliced(axis: 0, 0..<1).contiguous()
        func loss(_ m: AutoencoderDC) -> Tensor { (m.reconstruct(x) - x).pow(2).mean() }
        let (value, grads) = valueAndGradient(model) { loss($0) }
        XCTAssertTrue(value.isFinite)
        for (key, p) in model.namedParameters() where p.isTrainable {
            let g = try XCTUnwrap(grads[key], "no gradient for \(key)")
            XCTAssertTrue(g.toArray().contains { $0 != 0 }, "zero gradient for \(key)")
        }
        let key = "encoder.down_blocks.2.0.attn.to_q.weight"
        let p = try XCTUnwrap(model.namedParameters().first { $0.key == key }?.parameter)
        let original = p.value.toArray(), index = 5, h: Float = 1e-2
        func lossAt(_ delta: Float) -> Float {
            var w = original
            w[index] += delta
            p.assign(Tensor(w, shape: p.shape))
            return loss(model).item()
        }
        let numeric = (lossAt(h) - lossAt(-h)) / (2 * h)
        p.assign(Tensor(original, shape: p.shape))
        let analytic = try XCTUnwrap(grads[key]).toArray()[index]
        XCTAssertEqual(analytic, numeric, accuracy: 2e-3 + 0.05 * Swift.abs(numeric), "∂loss/∂\(key)[\(index)]")
    }

    /// A random model (LayerMaker(seed:)) is built and runs at the configured compression.
    func testRandomModelShapes() throws {
        var c = AutoencoderDCConfiguration()
        c.latentChannels = 4
        c.attentionHeadDim = 8
        c.encoderBlockTypes = .each(["ResBlock", "EfficientViTBlock"])
        c.decoderBlockTypes = .each(["ResBlock", "EfficientViTBlock"])
        c.encoderBlockOutChannels = [8, 16]; c.decoderBlockOutChannels = [8, 16]
        c.encoderLayersPerBlock = [1, 1]; c.decoderLayersPerBlock = [1, 1]
        c.encoderQkvMultiscales = [[], [5]]; c.decoderQkvMultiscales = [[], [5]]
        let model = try AutoencoderDC(c, seed: 3)
        var generator = RandomGenerator(seed: 9)
        let x = Tensor.normal([2, 3, 8, 8], generator: &generator)
        try model.validateImages(x)
        let z = model.encode(x)
        XCTAssertEqual(z.shape, [2, 4, 4, 4])
        try model.validateLatents(z)
        XCTAssertEqual(model.decode(z).shape, [2, 3, 8, 8])
        XCTAssertThrowsError(try model.validateImages(Tensor.zeros([1, 3, 7, 8])))
        XCTAssertThrowsError(try model.validateLatents(Tensor.zeros([1, 5, 4, 4])))
    }
}
