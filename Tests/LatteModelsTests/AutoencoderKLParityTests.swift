import Foundation
import XCTest
import LatteNN
import LatteTensor
@testable import LatteModels

/// AutoencoderKL against diffusers on tiny random models (scripts/make_autoencoder_fixtures.py).
final class AutoencoderKLParityTests: XCTestCase {
    static func folder(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
            .appendingPathComponent("autoencoders").appendingPathComponent(name)
    }

    static func io(_ name: String) throws -> [String: Tensor] {
        try Safetensors.read(contentsOf: folder(name).appendingPathComponent("io.safetensors")).tensors
    }

    func maxDifference(_ a: Tensor, _ b: Tensor, file: StaticString = #filePath, line: UInt = #line) -> Float {
        XCTAssertEqual(a.shape, b.shape, file: file, line: line)
        let x = a.toArray(), y = b.toArray()
        return zip(x, y).reduce(0) { Swift.max($0, Swift.abs($1.0 - $1.1)) }
    }

    func checkParity(_ name: String) throws {
        let model = try AutoencoderKL.load(directory: Self.folder(name))
        let io = try Self.io(name)
        let dist = model.encode(io["input"]!)
        let dm = maxDifference(dist.mean, io["mean"]!), dl = maxDifference(dist.logvar, io["logvar"]!)
        let dd = maxDifference(model.decode(io["mean"]!), io["decoded"]!)
        print("AutoencoderKL parity \(name): max |diff| mean \(dm), logvar \(dl), decode \(dd)")
        XCTAssertLessThan(dm, 1e-4, "\(name) mean")
        XCTAssertLessThan(dl, 1e-4, "\(name) logvar")
        XCTAssertLessThan(dd, 1e-4, "\(name) decode")
    }

    func testQuantConvModelMatchesDiffusers() throws { try checkParity("kl_quant") }

    func testNoQuantConvShiftModelMatchesDiffusers() throws {
        try checkParity("kl_noquant_shift")
        let model = try AutoencoderKL.load(directory: Self.folder("kl_noquant_shift"))
        XCTAssertNil(model.quant_conv)
        XCTAssertNil(model.post_quant_conv)
        XCTAssertEqual(model.configuration.shiftFactor, 0.1)
        XCTAssertEqual(model.configuration.scalingFactor, 1.25)
        // scaled = (z − 0.1) · 1.25, and back.
        let z = Tensor([0.1, 0.9, -0.7], shape: [3])
        XCTAssertEqual(model.scaledLatent(z).toArray(), [0, 1.0, -1.0].map { Float($0) }, accuracy: 1e-6)
        XCTAssertEqual(model.unscaledLatent(model.scaledLatent(z)).toArray(), z.toArray(), accuracy: 1e-6)
    }

    /// Tiled decoding matches diffusers' tiled_decode exactly (same tiles, same blending), and
    /// differs from the whole decode by a stated amount: tiles see their own GroupNorm statistics
    /// and attention context, so with these random weights the two differ by up to ~0.2 at worst
    /// (whole-image std 0.18–0.46) and 0.024–0.030 on average; the test bounds the mean absolute
    /// difference by 0.06.
    func testTiledDecodeMatchesDiffusersTiling() throws {
        for name in ["kl_quant", "kl_noquant_shift"] {
            let model = try AutoencoderKL.load(directory: Self.folder(name))
            let io = try Self.io(name)
            let z = io["tile_latent"]!
            let tiled = model.tiledDecode(z)
            let dt = maxDifference(tiled, io["tile_tiled"]!)
            XCTAssertLessThan(dt, 1e-4, "\(name) tiled")
            let whole = model.decode(z)
            XCTAssertLessThan(maxDifference(whole, io["tile_whole"]!), 1e-4, "\(name) whole")
            let mad = zip(tiled.toArray(), whole.toArray()).reduce(Float(0)) { $0 + Swift.abs($1.0 - $1.1) } / Float(whole.count)
            print("AutoencoderKL tiling \(name): max |diff| vs diffusers tiled \(dt); tiled vs whole mean |diff| \(mad)")
            XCTAssertLessThan(mad, 0.06, "\(name) tiled vs whole mean |diff|")
            // Other tile sizes and overlaps cover the same image (odd tiles, no overlap, clamped overlap).
            for (tile, overlap) in [(5, Float(0.25)), (4, Float(0)), (6, Float(0.9))] {
                let t = model.tiledDecode(z, tileLatentSize: tile, overlapFactor: overlap)
                XCTAssertEqual(t.shape, whole.shape, "tile \(tile) overlap \(overlap)")
                XCTAssertTrue(t.toArray().allSatisfy { $0.isFinite })
            }
            // Without overlap every output block is exactly its own tile's decode, in its own place.
            let abutting = model.tiledDecode(z, tileLatentSize: 4, overlapFactor: 0)
            let tile12 = model.decode(z.sliced(axis: 2, 4..<8).sliced(axis: 3, 8..<12))
            let placed = abutting.sliced(axis: 2, 8..<16).sliced(axis: 3, 16..<24).contiguous()
            XCTAssertEqual(placed.toArray(), tile12.toArray())
            // A tile as large as the latent is the whole decode, bit for bit.
            XCTAssertEqual(model.tiledDecode(z, tileLatentSize: 12).toArray(), whole.toArray())
        }
    }

    func testStrictLoadingNamesFileKeyAndShapes() throws {
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("vae-strict-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        let source = Self.folder("kl_quant")
        try FileManager.default.copyItem(at: source.appendingPathComponent("config.json"), to: tmp.appendingPathComponent("config.json"))
        var tensors = try Safetensors.read(contentsOf: source.appendingPathComponent("diffusion_pytorch_model.safetensors")).tensors
        tensors["encoder.conv_in.bias"] = nil
        tensors["decoder.conv_out.weight"] = Tensor.zeros([3, 8, 3, 2])
        tensors["encoder.extra.weight"] = Tensor.zeros([2])
        let weights = tmp.appendingPathComponent("diffusion_pytorch_model.safetensors")
        try Safetensors.write(tensors, to: weights)
        XCTAssertThrowsError(try AutoencoderKL.load(directory: tmp)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(weights.path), text)
            XCTAssertTrue(text.contains("missing key 'encoder.conv_in.bias'"), text)
            XCTAssertTrue(text.contains("unexpected key 'encoder.extra.weight'"), text)
            XCTAssertTrue(text.contains("'decoder.conv_out.weight': the module expects [3, 8, 3, 3], the checkpoint has [3, 8, 3, 2]"), text)
        }
        // A configuration that cannot be built is named with its file.
        try Data(#"{"block_out_channels": [8, 12], "norm_num_groups": 8}"#.utf8).write(to: tmp.appendingPathComponent("config.json"))
        XCTAssertThrowsError(try AutoencoderKL.load(directory: tmp)) { error in
            XCTAssertTrue("\(error)".contains("config.json"), "\(error)")
            XCTAssertTrue("\(error)".contains("12"), "\(error)")
        }
    }

    /// A model saved as a diffusers folder loads back identically (the config lists block types, as
    /// diffusers needs them).
    func testSaveLoadRoundTrip() throws {
        var c = AutoencoderKLConfiguration()
        c.blockOutChannels = [8, 16]
        c.normNumGroups = 4
        c.shiftFactor = 0.25
        let model = try AutoencoderKL(c, seed: 3)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vae-roundtrip-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.save(directory: dir)
        let loaded = try AutoencoderKL.load(directory: dir)
        XCTAssertEqual(loaded.configuration.downBlockTypes, ["DownEncoderBlock2D", "DownEncoderBlock2D"])
        XCTAssertEqual(loaded.configuration.shiftFactor, 0.25)
        let x = Tensor.randomNormal([1, 3, 8, 8], seed: 4)
        XCTAssertEqual(loaded.reconstruct(x).toArray(), model.reconstruct(x).toArray())
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("config.json"))) as? [String: Any]
        XCTAssertEqual(json?["_class_name"] as? String, "AutoencoderKL")
    }

    /// A folder written before diffusers' Attention rewrite names the mid-block attention
    /// query/key/value/proj_attn; it loads as the same model (diffusers' _convert_deprecated_attention_blocks),
    /// and a file holding both spellings of one parameter is refused with both keys named.
    func testOlderAttentionKeyNamesLoadAsTheSameModel() throws {
        var c = AutoencoderKLConfiguration()
        c.blockOutChannels = [8, 16]
        c.normNumGroups = 4
        let model = try AutoencoderKL(c, seed: 5)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vae-oldkeys-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try model.save(directory: dir)
        let weights = dir.appendingPathComponent("diffusion_pytorch_model.safetensors")
        let current = try Safetensors.read(contentsOf: weights).tensors
        var older: [String: Tensor] = [:]
        let renames = ["to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"]
        for (key, t) in current {
            var k = key
            for (new, old) in renames where key.contains(".attentions.0.\(new).") {
                k = key.replacingOccurrences(of: ".attentions.0.\(new).", with: ".attentions.0.\(old).")
            }
            older[k] = t
        }
        // Both coders' attentions, weight and bias of all four projections, are spelled the old way.
        for coder in ["encoder", "decoder"] {
            for old in renames.values {
                XCTAssertNotNil(older["\(coder).mid_block.attentions.0.\(old).weight"])
                XCTAssertNotNil(older["\(coder).mid_block.attentions.0.\(old).bias"])
            }
            XCTAssertNotNil(older["\(coder).mid_block.attentions.0.group_norm.weight"])
        }
        XCTAssertFalse(older.keys.contains { $0.contains(".to_q.") || $0.contains(".to_out.") })
        try Safetensors.write(older, to: weights)

        let loaded = try AutoencoderKL.load(directory: dir)
        let x = Tensor.randomNormal([1, 3, 8, 8], seed: 6), z = Tensor.randomNormal([1, 4, 4, 4], seed: 7)
        XCTAssertEqual(loaded.decode(z).toArray(), model.decode(z).toArray())
        XCTAssertEqual(loaded.encode(x).mean.toArray(), model.encode(x).mean.toArray())

        // One parameter under both names is ambiguous.
        older["decoder.mid_block.attentions.0.to_out.0.bias"] = current["decoder.mid_block.attentions.0.to_out.0.bias"]
        try Safetensors.write(older, to: weights)
        XCTAssertThrowsError(try AutoencoderKL.load(directory: dir)) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(weights.path), text)
            XCTAssertTrue(text.contains("'decoder.mid_block.attentions.0.proj_attn.bias' and 'decoder.mid_block.attentions.0.to_out.0.bias'"), text)
            XCTAssertFalse(text.contains("to_q"), text)
        }
    }

    func testInputValidationNamesTheProblem() throws {
        let model = try AutoencoderKL.load(directory: Self.folder("kl_quant"))
        XCTAssertNoThrow(try model.validateImages(Tensor.zeros([1, 3, 16, 16])))
        XCTAssertThrowsError(try model.validateImages(Tensor.zeros([1, 1, 16, 16]))) { XCTAssertTrue("\($0)".contains("[N, 3, H, W]"), "\($0)") }
        XCTAssertThrowsError(try model.validateImages(Tensor.zeros([1, 3, 15, 16]))) { XCTAssertTrue("\($0)".contains("multiple of 2"), "\($0)") }
        XCTAssertNoThrow(try model.validateLatents(Tensor.zeros([2, 4, 3, 5])))
        XCTAssertThrowsError(try model.validateLatents(Tensor.zeros([2, 8, 3, 5]))) { XCTAssertTrue("\($0)".contains("[N, 4, h, w]"), "\($0)") }
    }

    func testConfigurationDefaultsFollowDiffusers() throws {
        let c = try JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data("{}".utf8))
        XCTAssertEqual(c.blockOutChannels, [64])
        XCTAssertEqual(c.normNumGroups, 32)
        XCTAssertEqual(c.scalingFactor, 0.18215)
        XCTAssertNil(c.shiftFactor)
        XCTAssertTrue(c.useQuantConv && c.usePostQuantConv && c.midBlockAddAttention)
    }

    func testSampleIsSeededAndSpreadByStd() throws {
        let model = try AutoencoderKL.load(directory: Self.folder("kl_quant"))
        let dist = model.encode(try Self.io("kl_quant")["input"]!)
        var g1 = RandomGenerator(seed: 7), g2 = RandomGenerator(seed: 7)
        let a = dist.sample(generator: &g1), b = dist.sample(generator: &g2)
        XCTAssertEqual(a.toArray(), b.toArray())
        // (sample − mean) / std is the standard normal draw: mean ≈ 0, variance ≈ 1 over 512 values.
        let eps = ((a - dist.mean) / dist.std).toArray()
        let m = eps.reduce(0, +) / Float(eps.count)
        let v = eps.reduce(0) { $0 + ($1 - m) * ($1 - m) } / Float(eps.count)
        XCTAssertLessThan(Swift.abs(m), 0.15)
        XCTAssertEqual(v, 1, accuracy: 0.2)
    }
}

private func XCTAssertEqual(_ a: [Float], _ b: [Float], accuracy: Float, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
