import Foundation
import LatteFormats
import LatteModels
import LatteTensor
import LatteTokenizers
import XCTest

/// The real SmolLM2-135M-Instruct GGUF (skipped when the asset is not fetched) against transformers
/// loading the same file (Fixtures/llama/smollm2-reference.json).
final class LLaMASmolLM2Tests: XCTestCase {
    struct Reference: Decodable {
        var name: String
        var text: String
        var ids: [Int]
        var top5: [Int]
        var greedy16: [Int]
    }

    // One load shared by the tests of this class (135 M parameters dequantised).
    nonisolated(unsafe) static var loaded: (LLaMAModel, Tokenizer)?

    func smolLM2() throws -> (LLaMAModel, Tokenizer) {
        if let l = Self.loaded { return l }
        let url = try LLaMAFixtures.smolLM2()
        let l = (try LLaMAModel.load(from: url), try Tokenizer.load(contentsOf: url))
        Self.loaded = l
        return l
    }

    func references() throws -> [Reference] {
        let url = try LLaMAFixtures.folder("smollm2-reference.json")
        return try JSONDecoder().decode([Reference].self, from: Data(contentsOf: url))
    }

    func testConfigurationFromGGUFMetadata() throws {
        let (model, _) = try smolLM2()
        let c = model.configuration
        XCTAssertEqual([c.hiddenSize, c.intermediateSize, c.layerCount, c.headCount, c.kvHeadCount, c.headDim, c.vocabularySize],
                       [576, 1536, 30, 9, 3, 64, 49152])
        XCTAssertEqual(c.ropeTheta, 100_000)
        XCTAssertEqual(c.rmsNormEps, 1e-5)
        XCTAssertTrue(c.tieWordEmbeddings)
    }

    func testTopFiveAndGreedyContinuationsMatchTransformers() throws {
        let (model, tokenizer) = try smolLM2()
        for ref in try references() {
            // Our tokenizer gives the ids the reference was fed (no BOS is added).
            XCTAssertEqual(tokenizer.encode(ref.text, addSpecialTokens: false), ref.ids, ref.name)
            let logits = withoutGradient { model.lastLogits(LLaMAFixtures.ids(ref.ids)) }.toArray()
            let top5 = Array(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(5))
            XCTAssertEqual(top5, ref.top5, ref.name)
            let greedy = try TokenGenerator(model: model, prompt: ref.ids, parameters: .init(maxTokens: 16)).collect()
            XCTAssertEqual(greedy, ref.greedy16, "\(ref.name): \(tokenizer.decode(greedy)) vs \(tokenizer.decode(ref.greedy16))")
        }
    }

    func testCapitalOfFranceStreamsParis() async throws {
        let (model, tokenizer) = try smolLM2()
        let prompt = tokenizer.encode("The capital of France is", addSpecialTokens: false)
        var text = ""
        var statistics: GenerationStatistics?
        for try await event in model.generate(prompt: prompt, tokenizer: tokenizer, parameters: .init(maxTokens: 4)) {
            switch event {
            case .text(let s): text += s
            case .finished(let s): statistics = s
            }
        }
        XCTAssertTrue(text.hasPrefix(" Paris"), text)
        XCTAssertEqual(statistics?.promptTokens, prompt.count)
        XCTAssertEqual(statistics?.generatedTokens, 4)
        XCTAssertGreaterThan(statistics?.promptTokensPerSecond ?? 0, 0)
        // The text-only stream carries the same text.
        var chunks: [String] = []
        for try await chunk in model.generateText(prompt: prompt, tokenizer: tokenizer, parameters: .init(maxTokens: 4)) { chunks.append(chunk) }
        XCTAssertEqual(chunks.joined(), text)
    }

    func testPrefillThenDecodeEqualsFullSequence() throws {
        let (model, tokenizer) = try smolLM2()
        let ids = tokenizer.encode("Once upon a time, there was a little girl", addSpecialTokens: false)
        let full = withoutGradient { model(LLaMAFixtures.ids(ids)) }
        let cache = model.makeCache()
        var pieces = [withoutGradient { model(LLaMAFixtures.ids(Array(ids.prefix(5))), cache: cache) }]
        for id in ids.dropFirst(5) { pieces.append(withoutGradient { model(LLaMAFixtures.ids([id]), cache: cache) }) }
        let diff = LLaMAFixtures.maxDifference(Tensor.concat(pieces, axis: 1), full)
        XCTAssertLessThan(diff, 1e-3, "cached vs full max |Δlogit| = \(diff)")
    }
}
