import Foundation
import LatteModels
import LatteNN
import LatteTensor
import XCTest

/// The one token generator and stream, for both families: bad input is a thrown error naming the
/// problem, never a trap; the stream delivers text, statistics, errors, and stops when cancelled.
final class TokenGeneratorTests: XCTestCase {
    func tinyLLaMA() throws -> LLaMAModel { try LLaMAModel.load(from: LLaMAFixtures.folder("tiny-gqa-untied")) }

    func testBadTokenIDsAndEmptyPromptsAreThrownErrors() throws {
        let models: [any CausalLanguageModel] = [try tinyLLaMA(), try Qwen2VLModel.load(huggingFaceFolder: Qwen2VLFixtures.folder("tiny-a"))]
        for model in models {
            let size = model.geometry.vocabularySize
            XCTAssertThrowsError(try TokenGenerator(model: model, prompt: [3, size, 5])) { error in
                XCTAssertEqual(error as? LanguageModelError, .tokenOutOfVocabulary(id: size, index: 1, vocabularySize: size))
                XCTAssertTrue("\(error)".contains("token id \(size)") && "\(error)".contains("vocabulary of \(size)"), "\(error)")
            }
            XCTAssertThrowsError(try TokenGenerator(model: model, prompt: [-1])) { error in
                XCTAssertEqual(error as? LanguageModelError, .tokenOutOfVocabulary(id: -1, index: 0, vocabularySize: size))
            }
            XCTAssertThrowsError(try TokenGenerator(model: model, prompt: [])) { XCTAssertEqual($0 as? LanguageModelError, .emptyInput) }
            // Decoding checks too: an id fed by hand after the prompt.
            let cache = model.makeCache()
            _ = try model.prefill([1, 2], cache: cache)
            XCTAssertThrowsError(try model.decode([size + 7], cache: cache)) {
                XCTAssertEqual($0 as? LanguageModelError, .tokenOutOfVocabulary(id: size + 7, index: 0, vocabularySize: size))
            }
            XCTAssertEqual(cache.length, 2, "a refused token leaves the cache as it was")
        }
    }

    func testOverlongContextIsAThrownError() throws {
        let model = try tinyLLaMA()
        let context = model.geometry.contextLength
        XCTAssertEqual(context, 64)
        XCTAssertThrowsError(try TokenGenerator(model: model, prompt: [Int](repeating: 3, count: context + 1))) {
            XCTAssertEqual($0 as? LanguageModelError, .contextOverflow(positions: context + 1, contextLength: context))
            XCTAssertTrue("\($0)".contains("context of \(context)"), "\($0)")
        }
        // A prompt of 60 leaves room to decode 4 more positions: 5 tokens come, then the error.
        let generator = try TokenGenerator(model: model, prompt: [Int](repeating: 3, count: context - 4), parameters: .init(maxTokens: 10))
        for _ in 0..<5 { XCTAssertNotNil(try generator.next()) }
        XCTAssertThrowsError(try generator.next()) {
            XCTAssertEqual($0 as? LanguageModelError, .contextOverflow(positions: context + 1, contextLength: context))
        }
        XCTAssertNil(try generator.next(), "generation has ended")
    }

    func testImagesNeedAVisionLanguageModel() throws {
        let generator = try TokenGenerator(model: try tinyLLaMA(), prompt: [3, 4], images: try Qwen2VLFixtures.vision("tiny-b", count: 1))
        XCTAssertThrowsError(try generator.next()) { XCTAssertEqual($0 as? LanguageModelError, .imagesNotSupported) }
    }

    /// The same stream serves both families: its text is the generator's tokens decoded.
    func testStreamCarriesTheGeneratorsTokensForBothFamilies() async throws {
        let llama = try tinyLLaMA()
        let qwen = try Qwen2VLModel.load(huggingFaceFolder: Qwen2VLFixtures.folder("tiny-b"))
        let ref = try Qwen2VLFixtures.reference("tiny-b")
        let cases: [(any CausalLanguageModel, [Int], Qwen2VLVisionInput?)] = [
            (llama, [3, 14, 15], nil),
            (qwen, try XCTUnwrap(ref["mm_ids"]).toIntArray(), try Qwen2VLFixtures.vision("tiny-b", count: 1)),
        ]
        for (model, prompt, images) in cases {
            let tokenizer = try LanguageModelFixtures.tokenizer(vocabularySize: model.geometry.vocabularySize)
            let ids = try TokenGenerator(model: model, prompt: prompt, images: images, parameters: .init(maxTokens: 8)).collect()
            XCTAssertEqual(ids.count, 8)
            var text = "", statistics: GenerationStatistics?
            for try await event in model.generate(prompt: prompt, images: images, tokenizer: tokenizer, parameters: .init(maxTokens: 8)) {
                switch event {
                case .text(let s): text += s
                case .finished(let s): statistics = s
                }
            }
            XCTAssertEqual(text, tokenizer.decode(ids))
            XCTAssertEqual(statistics?.generatedTokens, 8)
            XCTAssertEqual(statistics?.promptTokens, prompt.count)
        }
    }

    func testStreamEndsWithTheError() async throws {
        let model = try tinyLLaMA()
        let tokenizer = try LanguageModelFixtures.tokenizer(vocabularySize: 97)
        var events = 0
        do {
            for try await _ in model.generateText(prompt: [3, 500], tokenizer: tokenizer) { events += 1 }
            XCTFail("a prompt outside the vocabulary must end the stream with an error")
        } catch {
            XCTAssertEqual(error as? LanguageModelError, .tokenOutOfVocabulary(id: 500, index: 1, vocabularySize: 97))
        }
        XCTAssertEqual(events, 0)
    }

    /// Cancelling the consumer stops the generating thread after the current token.
    func testCancellingTheConsumerStopsGeneration() async throws {
        let model = SlowCountingModel(try tinyLLaMA())
        let tokenizer = try LanguageModelFixtures.tokenizer(vocabularySize: 97)
        let task = Task {
            for try await _ in model.generate(prompt: [3, 14, 15], tokenizer: tokenizer, parameters: .init(maxTokens: 50)) { break }
        }
        try await task.value
        let stepsAtCancel = model.stepCount
        try await Task.sleep(nanoseconds: 300_000_000)
        XCTAssertLessThanOrEqual(model.stepCount, stepsAtCancel + 1, "generation went on after the stream ended")
        XCTAssertLessThan(model.stepCount, 40, "the stream ran to its end")
    }
}
