import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers
import XCTest

/// Qwen2-VL from llama.cpp's files (scripts/make_qwen2vl_gguf_fixtures.py ran llama.cpp's own converter
/// on the tiny HF model in tiny-gguf/hf): the language-model GGUF plus the mmproj file must give the
/// HF folder's logits, vision features and tokens.
final class Qwen2VLGGUFTests: XCTestCase {
    static func file(_ name: String) throws -> URL { try Qwen2VLFixtures.folder("tiny-gguf").appendingPathComponent(name) }

    static func ggufModel(_ lm: String = "lm-f32.gguf", mmproj: Bool = true, keepQuantized: Bool = false) throws -> Qwen2VLModel {
        try Qwen2VLModel.load(gguf: GGUFFile(path: file(lm).path), mmproj: mmproj ? GGUFFile(path: file("mmproj-f32.gguf").path) : nil,
                              keepQuantized: keepQuantized)
    }

    static func vision() throws -> Qwen2VLVisionInput {
        let processor = try Qwen2VLImageProcessor(preprocessorConfig: file("hf/preprocessor_config.json"))
        return try processor([ImageFile.read(file("image0.png").path)])
    }

    /// A prompt with the image: text, vision start, its pads, vision end, text.
    static func imagePrompt(_ m: Qwen2VLModel, _ v: Qwen2VLVisionInput) -> [Int] {
        let c = m.configuration, pads = v.grids[0].mergedTokenCount(mergeSize: c.vision.spatialMergeSize)
        return [5, 40, 77, c.visionStartTokenID] + Array(repeating: c.imageTokenID, count: pads) + [c.visionEndTokenID, 12, 250, 7]
    }

    static func relative(_ a: Tensor, _ b: Tensor) -> Float {
        Qwen2VLFixtures.maxDifference(a, b) / b.toArray().reduce(0) { max($0, abs($1)) }
    }

    /// F32 files: the same weights through llama.cpp's layout give the folder's results to float rounding
    /// (1e-5 of the scale: the only differences are the order q/k/v are re-fused and Conv3d re-stacked,
    /// which move no value).
    func testF32FilesMatchTheHFFolder() throws {
        let hf = try Qwen2VLModel.load(huggingFaceFolder: Self.file("hf"))
        let gguf = try Self.ggufModel()
        XCTAssertEqual(gguf.configuration.text, hf.configuration.text)
        XCTAssertEqual(gguf.configuration.vision.mlpHiddenSize, hf.configuration.vision.mlpHiddenSize)
        XCTAssertEqual(gguf.configuration.vision.hiddenAct, hf.configuration.vision.hiddenAct)
        XCTAssertEqual([gguf.configuration.imageTokenID, gguf.configuration.visionStartTokenID, gguf.configuration.visionEndTokenID],
                       [hf.configuration.imageTokenID, hf.configuration.visionStartTokenID, hf.configuration.visionEndTokenID])
        XCTAssertEqual(gguf.configuration.tieWordEmbeddings, false)
        let v = try Self.vision()
        let features = (try withoutGradient { try hf.visual(v) }, try withoutGradient { try gguf.visual(v) })
        XCTAssertLessThan(Self.relative(features.1, features.0), 1e-5, "vision features")
        let prompt = Self.imagePrompt(hf, v)
        let logits = (try withoutGradient { try hf(tokens: prompt, vision: v) }, try withoutGradient { try gguf(tokens: prompt, vision: v) })
        XCTAssertLessThan(Self.relative(logits.1, logits.0), 1e-5, "image+text logits")
        let text = Tensor(indices: [1, 2, 3, 100, 200, 299], shape: [1, 6])
        XCTAssertLessThan(Self.relative(withoutGradient { gguf(text) }, withoutGradient { hf(text) }), 1e-5, "text logits")
    }

    /// The converter's Q8_0 file: kept quantised (and dequantised to f32) within 2 % of the logit scale
    /// of the f32 folder; the quantised GEMV must also agree with the file dequantised.
    func testQ8_0FileKeptQuantisedIsCloseToF32() throws {
        let hf = try Qwen2VLModel.load(huggingFaceFolder: Self.file("hf"))
        let kept = try Self.ggufModel("lm-q8_0.gguf", keepQuantized: true)
        let widened = try Self.ggufModel("lm-q8_0.gguf", keepQuantized: false)
        XCTAssertNotNil(kept.model.layers[0].self_attn.q_proj.quantizedWeight)
        XCTAssertNotNil(kept.lm_head?.quantizedWeight)
        XCTAssertNil(widened.model.layers[0].self_attn.q_proj.quantizedWeight)
        let v = try Self.vision()
        let prompt = Self.imagePrompt(hf, v)
        let reference = try withoutGradient { try hf(tokens: prompt, vision: v) }
        for (name, m) in [("kept", kept), ("widened", widened)] {
            let e = Self.relative(try withoutGradient { try m(tokens: prompt, vision: v) }, reference)
            XCTAssertLessThan(e, 0.02, name)
            XCTAssertGreaterThan(e, 1e-5, "\(name): identical to f32; was the Q8_0 file read?")
        }
    }

    /// The GGUF's vocabulary (tokenizer.ggml.*, pre-tokenizer qwen2) splits like the folder's tokenizer.json.
    func testTokenizerFromGGUFMatchesTokenizerJSON() throws {
        let json = try Tokenizer.load(contentsOf: Self.file("hf/tokenizer.json"))
        let gguf = try Tokenizer.load(contentsOf: Self.file("lm-f32.gguf"))
        for text in ["What is in this picture?", "The quick brown fox, 0123456789!", "<|im_start|>user\nHello world<|im_end|>\n",
                     "<|vision_start|><|image_pad|><|image_pad|><|vision_end|>Describe it.", "  spaces\n\nand\ttabs  ", "héllo wörld ✅"] {
            XCTAssertEqual(gguf.encode(text, addSpecialTokens: false), json.encode(text, addSpecialTokens: false), text)
        }
        XCTAssertEqual(gguf.tokenToID("<|image_pad|>"), json.tokenToID("<|image_pad|>"))
        XCTAssertEqual(gguf.eosTokenID, json.tokenToID("<|im_end|>"))
        // The whole chat prompt with an image, built through the backbone for either source.
        let folder = try Backbone.load(Self.file("hf").path)
        let file = Backbone(model: try Self.ggufModel(), tokenizer: gguf, location: try Self.file("lm-f32.gguf"))
        let image = try ImageFile.read(Self.file("image0.png").path)
        let turns = [ChatPrompt.Turn(.user, "What is this?", images: [image])]
        let (a, b) = (try folder.chatPrompt(turns), try file.chatPrompt(turns))
        XCTAssertEqual(a.ids, b.ids)
        XCTAssertEqual(a.stopTokens, b.stopTokens)
    }

    func testLanguageModelAloneRefusesImagesButDecodes() throws {
        let url = try Self.file("lm-f32.gguf")
        let backbone = try Backbone.load(url.path)
        XCTAssertFalse(backbone.canSee)
        let m = try XCTUnwrap(backbone.model as? Qwen2VLModel)
        XCTAssertThrowsError(try m(tokens: Self.imagePrompt(m, try Self.vision()), vision: try Self.vision())) {
            XCTAssertTrue("\($0)".contains("mmproj"), "\($0)")
        }
        let full = try Self.ggufModel()
        let text = Tensor(indices: [1, 2, 3, 100], shape: [1, 4])
        XCTAssertEqual(withoutGradient { m(text) }.toArray(), withoutGradient { full(text) }.toArray())
        XCTAssertTrue(try Backbone.load(url.path, mmproj: Self.file("mmproj-f32.gguf")).canSee)
    }

    /// Truncated files, the files swapped, and a projector from a model of another width: each a
    /// clear error naming the file and the problem.
    func testBrokenAndMismatchedFilesNameTheProblem() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("qwen2vl-gguf-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let lm = try Self.file("lm-f32.gguf"), mmproj = try Self.file("mmproj-f32.gguf")

        for (name, source) in [("lm-cut.gguf", lm), ("mmproj-cut.gguf", mmproj)] {
            let bytes = try Data(contentsOf: source)
            let cut = dir.appendingPathComponent(name)
            try bytes.prefix(bytes.count * 2 / 3).write(to: cut)
            let (model, projector) = name.hasPrefix("lm") ? (cut, mmproj) : (lm, cut)
            XCTAssertThrowsError(try Backbone.loadModel(at: model, mmproj: projector)) {
                XCTAssertTrue("\($0)".contains(cut.path), "\($0)")
                XCTAssertTrue("\($0)".contains("truncated") || "\($0)".contains("beyond") || "\($0)".contains("out of"), "\($0)")
            }
        }
        XCTAssertThrowsError(try Backbone.loadModel(at: lm, mmproj: lm)) {
            XCTAssertTrue("\($0)".contains("expected 'clip'"), "\($0)")
        }
        XCTAssertThrowsError(try Backbone.loadModel(at: mmproj)) {
            XCTAssertTrue("\($0)".contains("'clip'") && "\($0)".contains("expected 'llama'"), "\($0)")
        }

        // The merger's output rows (the LM width it feeds) rewritten from 64 to 32 in the header.
        var bytes = [UInt8](try Data(contentsOf: mmproj))
        let name = Array("mm.2.weight".utf8)
        let nameStart = try XCTUnwrap((0..<(bytes.count - name.count)).first { i in
            bytes[i..<(i + name.count)].elementsEqual(name) && bytes[i - 8] == UInt8(name.count)
        })
        let dims = nameStart + name.count + 4  // after the name: n_dims (u32), then ne0, ne1 (u64)
        XCTAssertEqual(bytes[dims + 8], 64)
        bytes[dims + 8] = 32
        let narrow = dir.appendingPathComponent("mmproj-narrow.gguf")
        try Data(bytes).write(to: narrow)
        XCTAssertThrowsError(try Backbone.loadModel(at: lm, mmproj: narrow)) {
            XCTAssertTrue("\($0)".contains(narrow.path) && "\($0)".contains("width 32") && "\($0)".contains("64 wide"), "\($0)")
        }
    }
}
