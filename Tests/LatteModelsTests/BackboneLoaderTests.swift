import Foundation
import LatteFormats
import LatteModels
import LatteTensor
import XCTest

/// `Backbone.load`: one loader for asset names, GGUF files and HF folders of either family.
final class BackboneLoaderTests: XCTestCase {
    /// A tiny Qwen2-VL folder backs the generator: it loads through the loader and, seen only as a
    /// `PromptBackbone`, prefills prompt keys and values of the geometry it reports.
    func testQwen2VLFolderLoadsAndPrefillsPromptKeysAndValues() throws {
        let folder = try LanguageModelFixtures.folderWithTokenizer(Qwen2VLFixtures.folder("tiny-a"), vocabularySize: 113)
        defer { try? FileManager.default.removeItem(at: folder) }
        let backbone = try Backbone.load(folder.path)
        XCTAssertTrue(backbone.model is Qwen2VLModel)
        XCTAssertEqual(backbone.location.standardizedFileURL.path, folder.standardizedFileURL.path)
        XCTAssertEqual(backbone.tokenizer.tokenToID("w7 "), 7)
        let prompt = backbone.promptBackbone
        XCTAssertEqual([prompt.promptLayerCount, prompt.promptKVHeads, prompt.promptHeadDim], [2, 1, 12])
        XCTAssertEqual(prompt.promptRopeTheta, 1000)
        let prompts = [[5, 9, 33, 2, 71, 8], [40, 3, 12]]
        let (keys, values, lengths) = prompt.prefill(prompts: prompts)
        XCTAssertEqual(lengths, [6, 3])
        XCTAssertEqual(keys.count, 2)
        for layer in 0..<2 {
            XCTAssertEqual(keys[layer].shape, [2, 1, 6, 12])
            XCTAssertEqual(values[layer].shape, [2, 1, 6, 12])
            XCTAssertFalse(keys[layer].requiresGradient)
        }
        // The same keys the model loaded on its own gives.
        let direct = try Qwen2VLModel.load(huggingFaceFolder: Qwen2VLFixtures.folder("tiny-a")).prefill(prompts: prompts)
        XCTAssertEqual(keys[1].toArray(), direct.keys[1].toArray())
        XCTAssertEqual(values[0].toArray(), direct.values[0].toArray())
        // And as a causal LM it chats.
        XCTAssertEqual(backbone.languageModel.geometry.vocabularySize, 113)
        XCTAssertEqual(try TokenGenerator(model: backbone.languageModel, prompt: [5, 9], parameters: .init(maxTokens: 3)).collect().count, 3)
    }

    func testLLaMAFolderLoadsWithItsTokenizer() throws {
        let folder = try LanguageModelFixtures.folderWithTokenizer(LLaMAFixtures.folder("tiny-gqa-untied"), vocabularySize: 97)
        defer { try? FileManager.default.removeItem(at: folder) }
        let backbone = try Backbone.load(folder.path)
        let llama = try XCTUnwrap(backbone.model as? LLaMAModel)
        XCTAssertEqual(backbone.promptBackbone.promptRopeTheta, llama.configuration.ropeTheta)
        XCTAssertEqual(backbone.promptBackbone.promptKVHeads, llama.configuration.kvHeadCount)
    }

    func testSmolLM2LoadsByAssetName() throws {
        _ = try LLaMAFixtures.smolLM2()
        let backbone = try Backbone.load("smollm2", keepQuantized: true)
        XCTAssertTrue(backbone.model is LLaMAModel)
        XCTAssertEqual(backbone.location.pathExtension, "gguf")
        XCTAssertEqual(backbone.promptBackbone.promptLayerCount, 30)
        XCTAssertEqual(backbone.promptBackbone.promptRopeTheta, 100_000)
        XCTAssertEqual(backbone.tokenizer.encode("Paris", addSpecialTokens: false).count, 1)
        // Present already: fetching if missing fetches (and says) nothing.
        var said: [String] = []
        XCTAssertEqual(try Backbone.locate("smollm2", assets: .fetchIfMissing(log: { said.append($0) })), backbone.location)
        XCTAssertEqual(said, [])
    }

    func testMissingAssetNamesTheFetchCommand() throws {
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("lm-empty-cache-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: empty) }
        XCTAssertThrowsError(try Backbone.load("smollm2", assets: .requirePresent, cache: AssetCache(root: empty))) { error in
            XCTAssertTrue("\(error)".contains("latte assets fetch smollm2"), "\(error)")
        }
    }

    func testUnusableSpecsAreNamed() throws {
        XCTAssertThrowsError(try Backbone.load("no-such-model")) { error in
            XCTAssertTrue("\(error)".contains("'no-such-model'") && "\(error)".contains("smollm2"), "\(error)")
        }
        XCTAssertThrowsError(try Backbone.load("fashion-mnist")) { error in
            XCTAssertTrue("\(error)".contains("not a language-model backbone"), "\(error)")
        }
        XCTAssertThrowsError(try Backbone.load(Qwen2VLFixtures.folder("tiny-a").path)) { error in
            XCTAssertTrue("\(error)".contains("without tokenizer.json"), "\(error)")
        }
    }
}
