import Foundation
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor
import XCTest

/// Qwen2-VL's language model quantised at load (`Qwen2VLQuantization`) against the same weights in f32.
final class Qwen2VLQuantizationTests: XCTestCase {
    /// Widths that are whole 32-blocks (hidden 64, MLP 96, head dim 32), random N(0, 0.1) weights.
    static func randomModel(tied: Bool, seed: UInt64 = 4) -> Qwen2VLModel {
        let text = Qwen2VLTextConfiguration(hiddenSize: 64, intermediateSize: 96, layerCount: 2, headCount: 2, kvHeadCount: 1,
                                            vocabularySize: 96, ropeTheta: 10000, mropeSection: [4, 6, 6])
        let vision = Qwen2VLVisionConfiguration(depth: 1, embedDim: 32, hiddenSize: 64, headCount: 2)
        let model = Qwen2VLModel(configuration: Qwen2VLConfiguration(text: text, vision: vision, imageTokenID: 90, videoTokenID: 91,
                                                                     visionStartTokenID: 88, visionEndTokenID: 89, tieWordEmbeddings: tied))
        var g = RandomGenerator(seed: seed)
        for (name, p) in model.namedParameters() where !name.hasPrefix("visual.") {
            p.assign(name.hasSuffix("norm.weight") ? Tensor.ones(p.shape) : Tensor.normal(p.shape, std: 0.1, generator: &g))
        }
        return model
    }

    static let tokens = [3, 17, 42, 5, 77, 12, 60, 9, 31, 2, 95, 44]

    /// Largest |Δ logit| over the largest |logit|: the error relative to the logits' own scale.
    static func relativeError(_ q: Tensor, _ f: Tensor) -> Float {
        let a = q.toArray(), b = f.toArray()
        return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) } / b.reduce(0) { max($0, abs($1)) }
    }

    /// A random N(0, 0.1) model is sensitive (measured: Q8_0 2.5-3.3 %, Q4_1 30-46 % of the logit scale),
    /// so the bounds here are loose (5 % / 60 %); what is tight is the ratio: a Q4_1 block's step
    /// (range/15 ≈ 4.1σ/15) is ~16× a Q8_0 one's (max|x|/127 ≈ 2.1σ/127), and the errors must scale
    /// alike (4-30×). Both must move the logits (quantisation really ran); Q8_0 keeps the greedy choices.
    func testQuantizedLogitsCloseToFloat32() throws {
        for tied in [false, true] {
            let ids = Tensor(indices: Self.tokens, shape: [1, Self.tokens.count])
            let reference = withoutGradient { Self.randomModel(tied: tied)(ids) }
            var errors: [QuantizedFormat: Float] = [:]
            for (format, tolerance) in [(QuantizedFormat.q8_0, Float(0.05)), (.q4_1, 0.6)] {
                let model = Self.randomModel(tied: tied)
                let bytes = try model.quantizeLanguageModel(Qwen2VLQuantization(layers: format))
                XCTAssertGreaterThan(bytes, 0)
                XCTAssertNotNil(model.model.layers[1].mlp.down_proj.quantizedWeight)
                XCTAssertNotNil(model.model.embed_tokens.quantizedWeight)
                XCTAssertEqual(model.lm_head?.quantizedWeight == nil, tied)
                let logits = withoutGradient { model(ids) }
                let e = Self.relativeError(logits, reference)
                errors[format] = e
                XCTAssertLessThan(e, tolerance, "\(format) tied \(tied)")
                XCTAssertGreaterThan(e, 1e-4, "\(format) tied \(tied): logits unchanged; were the weights quantised?")
                let v = 96, n = Self.tokens.count
                let (a, b) = (logits.toArray(), reference.toArray())
                let agree = (0..<n).filter { t in
                    let qa = (0..<v).max { a[t * v + $0] < a[t * v + $1] }!, ra = (0..<v).max { b[t * v + $0] < b[t * v + $1] }!
                    return qa == ra
                }.count
                if format == .q8_0 { XCTAssertGreaterThanOrEqual(agree, n - 1, "Q8_0: greedy choices agree at \(agree)/\(n)") }
            }
            let ratio = errors[.q4_1]! / errors[.q8_0]!
            XCTAssertTrue((4...30).contains(ratio), "Q4_1 / Q8_0 error ratio \(ratio), expected near the block steps' ~16")
            print("tied \(tied): relative logit error Q8_0 \(errors[.q8_0]!), Q4_1 \(errors[.q4_1]!)")
        }
    }

    /// The tiny HF fixture of whole 32-blocks (tiny-gguf/hf, f32 safetensors) quantised at load, on an
    /// image+text prompt: Q8_0 within 3 % of the logit scale (measured 1.6 %), Q4_1 (Q8_0 head) within
    /// 25 % (measured 15.5 %: 4-bit blocks of a random model); the vision tower is not quantised, so its
    /// features are unchanged.
    func testTinyFixtureQuantisedAtLoad() throws {
        let folder = try Qwen2VLFixtures.folder("tiny-gguf").appendingPathComponent("hf")
        let f32 = try Qwen2VLModel.load(huggingFaceFolder: folder)
        let v = try Qwen2VLGGUFTests.vision()
        let prompt = Qwen2VLGGUFTests.imagePrompt(f32, v)
        let reference = try withoutGradient { try f32(tokens: prompt, vision: v) }
        for (format, tolerance) in [(QuantizedFormat.q8_0, Float(0.03)), (.q4_1, 0.25)] {
            let q = try Qwen2VLModel.load(huggingFaceFolder: folder, quantization: Qwen2VLQuantization(layers: format))
            XCTAssertEqual(q.model.layers[1].mlp.up_proj.quantizedWeight?.format, format)
            XCTAssertEqual(q.lm_head?.quantizedWeight?.format, .q8_0)
            XCTAssertEqual(try withoutGradient { try q.visual(v) }.toArray(), try withoutGradient { try f32.visual(v) }.toArray())
            let e = Self.relativeError(try withoutGradient { try q(tokens: prompt, vision: v) }, reference)
            XCTAssertLessThan(e, tolerance, "\(format)")
            XCTAssertGreaterThan(e, 1e-4, "\(format): logits unchanged")
            print("tiny-gguf/hf \(format): relative logit error \(e)")
        }
    }

    /// Decoding one token at a time through the KV cache gives the full sequence's logits (the quantised
    /// GEMV path for one row and the dequantised-panel path for many agree).
    func testQuantizedCachedDecodingMatchesFullSequence() throws {
        let model = Self.randomModel(tied: true)
        try model.quantizeLanguageModel(Qwen2VLQuantization(layers: .q4_1))
        let n = Self.tokens.count
        let full = withoutGradient { model(Tensor(indices: Self.tokens, shape: [1, n])) }.toArray()
        let cache = model.makeCache()
        _ = withoutGradient { model.lastLogits(Tensor(indices: Array(Self.tokens[0..<8]), shape: [1, 8]), cache: cache) }
        for t in 8..<n {
            let step = withoutGradient { model.lastLogits(Tensor(indices: [Self.tokens[t]], shape: [1, 1]), cache: cache) }.toArray()
            let row = Array(full[(t * 96)..<((t + 1) * 96)])
            // The one-row GEMV rounds x to int8 per block; the panel path multiplies in float.
            let scale = row.map(abs).max()!
            XCTAssertLessThan(zip(step, row).map { abs($0 - $1) }.max()! / scale, 0.05, "position \(t)")
        }
    }

    func testDecodeWeightBytesCountsQuantisedSizes() throws {
        let model = Self.randomModel(tied: true)
        let f32 = model.decodeWeightBytes
        try model.quantizeLanguageModel(Qwen2VLQuantization(layers: .q8_0))
        let q8 = model.decodeWeightBytes
        // Matrices shrink from 4 bytes a weight to 34/32; norms and biases stay f32.
        let matrices = 2 * (64 * 64 * 2 + 32 * 64 * 2 + 3 * 64 * 96) + 96 * 64
        let rest = f32 - 4 * matrices
        XCTAssertEqual(q8, rest + matrices * 34 / 32)
    }
}
