import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import LatteFlow
import LatteFormats
import LatteModels
import LatteServe
import Logging
import XCTest

/// A model that can see: a generator on the tiny random Qwen2-VL checkpoint of LatteModelsTests
/// (a character tokenizer with Qwen2-VL's special tokens at the ids its config names). Chat accepts
/// `image_url` data URLs, each adding the image's merged patch tokens to the prompt; a corrupt image is
/// a 400; images still generate.
final class VisionChatTests: XCTestCase {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("LatteModelsTests/Fixtures/qwen2vl/tiny-a")

    /// Printable ASCII are ids 0–94, "\n" 95, then the chat and vision specials (98–100 as config.json says).
    static func tokenizer() throws -> Data {
        var vocab: [String: Int] = [:]
        for (i, c) in (32...126).enumerated() { vocab[String(Character(UnicodeScalar(UInt8(c))))] = i }
        vocab["\n"] = 95
        let specials = [("<|im_start|>", 96), ("<|im_end|>", 97), ("<|vision_start|>", 98), ("<|vision_end|>", 99), ("<|image_pad|>", 100)]
        for (text, id) in specials { vocab[text] = id }
        let added = specials.map { ["id": $0.1, "content": $0.0, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true] as [String: Any] }
        let json: [String: Any] = ["version": "1.0", "added_tokens": added, "normalizer": NSNull(), "pre_tokenizer": NSNull(), "post_processor": NSNull(),
                                   "decoder": NSNull(), "model": ["type": "BPE", "vocab": vocab, "merges": [String]()] as [String: Any]]
        return try JSONSerialization.data(withJSONObject: json)
    }

    func writeModel(_ dir: URL) throws -> URL {
        let backbone = dir.appendingPathComponent("qwen2vl")
        try FileManager.default.createDirectory(at: backbone, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors", "preprocessor_config.json"] {
            try FileManager.default.copyItem(at: Self.fixture.appendingPathComponent(file), to: backbone.appendingPathComponent(file))
        }
        try Self.tokenizer().write(to: backbone.appendingPathComponent("tokenizer.json"))
        let loaded = try Backbone.load(backbone.path)
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        let c = try GeneratorConfiguration(backbone: backbone.path, geometry: BackboneGeometry(loaded.promptBackbone), latentShape: [4, 8, 8],
                                           shape: GeneratorShape(groups: 2, width: 16, mlpWidth: 16))
        var v = AutoencoderKLConfiguration()
        v.blockOutChannels = [8, 8, 8]
        v.normNumGroups = 4
        v.latentChannels = 4
        try TextToImageManifest(backbone: backbone.path, autoencoder: "autoencoder", promptStartToken: "<|im_start|>", crop: 0, defaultSteps: 2)
            .save(to: model.appendingPathComponent("model.json"))
        try c.save(to: model.appendingPathComponent("generator.json"))
        try LayerwiseTimestepExperts(c, seed: 1).saveSafetensors(model.appendingPathComponent("generator.safetensors"))
        try AutoencoderKL(v, seed: 3).save(directory: model.appendingPathComponent("autoencoder"))
        return model
    }

    func testChatSeesDataURLImagesAndRejectsACorruptOne() async throws {
        guard FileManager.default.fileExists(atPath: Self.fixture.appendingPathComponent("model.safetensors").path) else {
            return XCTFail("the committed Qwen2-VL fixture \(Self.fixture.path) is missing")
        }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("serve-vision-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let folder = try writeModel(dir)
        var c = ServeConfiguration()
        c.port = 0
        c.handlesSignals = false
        var logger = Logger(label: "latte.serve.vision")
        logger.logLevel = .warning
        let server = LatteServer(configuration: c, logger: logger) { try ServedModel.load(directory: folder, assets: .requirePresent) }
        let ports = AsyncStream<Int>.makeStream()
        let run = Task { try await server.run { ports.continuation.yield($0) } }
        var port = 0
        for await p in ports.stream { port = p; break }
        func post(_ path: String, _ json: [String: Any]) async throws -> (Int, [String: Any]) {
            var r = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
            r.httpMethod = "POST"
            r.httpBody = try JSONSerialization.data(withJSONObject: json)
            let (data, response) = try await URLSession.shared.data(for: r)
            return ((response as! HTTPURLResponse).statusCode, try object(data))
        }
        var ready = false
        for _ in 0..<600 where !ready {
            let health = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/health")!)
            ready = (health?.1 as? HTTPURLResponse)?.statusCode == 200
            if !ready { try await Task.sleep(nanoseconds: 100_000_000) }
        }
        XCTAssertTrue(ready, "the vision model did not load")

        // A 56×56 image is Qwen2-VL's smallest: 4×4 patches of 14, merged 2×2 → 4 image tokens.
        let png = try PNG.encode(Image(width: 56, height: 56, channels: 3, fill: [200, 40, 40]))
        let image: [String: Any] = ["type": "image_url", "image_url": ["url": "data:image/png;base64," + Data(png).base64EncodedString()]]
        func messages(_ parts: [[String: Any]]) -> [String: Any] {
            ["messages": [["role": "system", "content": "be brief"], ["role": "user", "content": [["type": "text", "text": "what is this"]] + parts]],
             "max_tokens": 3, "temperature": 0]
        }
        let (textStatus, text) = try await post("/v1/chat/completions", messages([]))
        XCTAssertEqual(textStatus, 200, "\(text)")
        let (seeStatus, seen) = try await post("/v1/chat/completions", messages([image]))
        XCTAssertEqual(seeStatus, 200, "\(seen)")
        let textTokens = (text["usage"] as? [String: Any])?["prompt_tokens"] as? Int ?? 0
        let imageTokens = (seen["usage"] as? [String: Any])?["prompt_tokens"] as? Int ?? 0
        XCTAssertEqual(imageTokens - textTokens, 4 + 2, "the image's 4 merged patches between vision start and end")

        let corrupt: [String: Any] = ["type": "image_url", "image_url": ["url": "data:image/png;base64," + Data(png.prefix(40)).base64EncodedString()]]
        let (badStatus, bad) = try await post("/v1/chat/completions", messages([corrupt]))
        XCTAssertEqual(badStatus, 400)
        let error = try XCTUnwrap(bad["error"] as? [String: Any])
        XCTAssertEqual(error["code"] as? String, "invalid_image")
        XCTAssertEqual(error["param"] as? String, "messages[1].content[1].image_url.url")

        let (imageStatus, generated) = try await post("/v1/images/generations", ["prompt": "a red square", "seed": 1])
        XCTAssertEqual(imageStatus, 200, "\(generated)")
        await server.shutdown()
        try await run.value
    }
}
