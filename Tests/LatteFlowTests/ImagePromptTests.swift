import Foundation
import LatteFlow
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers
import XCTest

/// A tiny random LLaMA with a ChatML character tokenizer (`<|im_start|>`, `<|im_end|>`, newline): the
/// vision prompt's layout tokenises, and its geometry is the tiny generator's (4 layers, 2 K/V heads of 8).
enum TinyChatBackbone {
    static let characters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ ,.-'?\n")
    static var vocabularySize: Int { characters.count + 2 }

    static func tokenizer() throws -> Tokenizer {
        func quoted(_ c: Character) -> String { c == "\n" ? "\"\\n\"" : "\"\(c)\"" }
        let vocab = characters.enumerated().map { "\(quoted($1)): \($0)" }.joined(separator: ", ")
        let (start, end) = (characters.count, characters.count + 1)
        let json = #"{"version": "1.0", "added_tokens": [{"id": "# + "\(start)" + #", "content": "<|im_start|>", "special": true}, {"id": "# + "\(end)"
            + #", "content": "<|im_end|>", "special": true}], "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null, "model": {"type": "BPE", "vocab": {"#
            + vocab + #", "<|im_start|>": "# + "\(start)" + #", "<|im_end|>": "# + "\(end)" + #"}, "merges": []}}"#
        return try Tokenizer(jsonData: Data(json.utf8), file: "tiny-chat.json")
    }

    static func model(seed: UInt64 = 3) -> LLaMAModel {
        let m = LLaMAModel(configuration: LLaMAConfiguration(hiddenSize: 32, intermediateSize: 48, layerCount: 4, headCount: 4, kvHeadCount: 2,
                                                             headDim: 8, vocabularySize: vocabularySize, rmsNormEps: 1e-5, ropeTheta: 100))
        var g = RandomGenerator(seed: seed)
        for (_, p) in m.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.3, generator: &g)) }
        return m
    }

    /// A random projector from 6-channel encoder tokens to the tiny LM's width.
    static func projector(seed: UInt64 = 5) -> ImageTokenProjector {
        var g = RandomGenerator(seed: seed)
        return ImageTokenProjector(encoderChannels: 6, width: 32, generator: &g)
    }
}

/// Image prompts (`ImagePromptEncoder`): the keys and values the generator reads are the chat path's
/// prefill of the same prompt; the text before the image block is the plain text prefill; images change
/// what follows; the prompt table stores them in memory or f16 alike.
final class ImagePromptTests: XCTestCase {
    func testImagePromptKeysAndValuesAreTheChatPathsPrefill() throws {
        let (lm, projector, tokenizer) = (TinyChatBackbone.model(), TinyChatBackbone.projector(), try TinyChatBackbone.tokenizer())
        let encoder = try ImagePromptEncoder(lm: lm, projector: projector, tokenizer: tokenizer, tokensPerImage: 4)
        var g = RandomGenerator(seed: 11)
        let tokens = Tensor.normal([3, 4, 6], generator: &g)
        let batch = encoder.caches(tokens: tokens)
        XCTAssertEqual(batch.lengths, [Int](repeating: encoder.length, count: 3))
        XCTAssertEqual(batch.layerCount, 4)
        let answerer = VisionAnswerer(lm: lm, projector: projector, tokenizer: tokenizer)
        let head = Array(encoder.prompt.ids[..<encoder.prompt.imagePositions.lowerBound])
        let text = lm.prefill(prompts: [head])
        for i in 0..<3 {
            let image = tokens.sliced(axis: 0, i..<(i + 1))
            // The chat path: the same prompt (the instruction as the question), prefilled as `latte chat --image` does.
            let prompt = try answerer.prompt(ImagePromptEncoder.defaultInstruction, tokens: image)
            XCTAssertEqual(prompt, encoder.prompt)
            let cache = lm.makeCache(capacity: prompt.ids.count)
            _ = answerer.prefill(prompt, tokens: image, cache: cache)
            let one = encoder.caches(tokens: image)
            let row = batch.selecting(rows: [i])
            for l in 0..<4 {
                for (mine, chat) in [(one.keys[l], cache.keys[l]), (one.values[l], cache.values[l])] {
                    XCTAssertEqual(mine.shape, [1, 2, encoder.length, 8])
                    XCTAssertEqual(mine.toArray().map(\.bitPattern), chat.toArray().map(\.bitPattern), "layer \(l), image \(i): one image equals the chat prefill bit for bit")
                }
                for (batched, single) in [(row.keys[l], one.keys[l]), (row.values[l], one.values[l])] {
                    let worst = zip(batched.toArray(), single.toArray()).map { abs($0 - $1) }.max()!
                    XCTAssertLessThan(worst, 1e-4, "layer \(l), image \(i): a batch of images equals each alone")
                }
                // Positions before the image block see no image: they are the text prefill of the ChatML head.
                let prefix = one.keys[l].sliced(axis: 2, 0..<head.count).contiguous().toArray()
                XCTAssertLessThan(zip(prefix, text.keys[l].contiguous().toArray()).map { abs($0 - $1) }.max()!, 1e-5, "layer \(l)")
            }
        }
        // From the image block on, another image gives other keys.
        let last = encoder.length - 1
        let (a, b) = (batch.keys[3].sliced(axis: 0, 0..<1).sliced(axis: 2, last..<(last + 1)).contiguous().toArray(),
                      batch.keys[3].sliced(axis: 0, 1..<2).sliced(axis: 2, last..<(last + 1)).contiguous().toArray())
        XCTAssertGreaterThan(zip(a, b).map { abs($0 - $1) }.max()!, 1e-3)
    }

    func testImagePromptTableInMemoryAndInAnF16FileHoldTheSameCaches() throws {
        let (lm, projector, tokenizer) = (TinyChatBackbone.model(), TinyChatBackbone.projector(), try TinyChatBackbone.tokenizer())
        let encoder = try ImagePromptEncoder(lm: lm, projector: projector, tokenizer: tokenizer, tokensPerImage: 4)
        var g = RandomGenerator(seed: 12)
        let tokens = Tensor.normal([11, 4, 6], generator: &g)   // more than one prefill batch of 8
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("image-prompts-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let file = dir.appendingPathComponent("image-prompts.f16")
        var lines: [String] = []
        let memory = try PromptTable.prefillImages(tokens: tokens, encoder: encoder, backboneName: "tiny", projectorDigest: "p", file: file) { lines.append($0) }
        XCTAssertTrue(memory.isExact)
        let stored = try PromptTable.prefillImages(tokens: tokens, encoder: encoder, backboneName: "tiny", projectorDigest: "p", file: file, memoryBudget: 0) { lines.append($0) }
        XCTAssertFalse(stored.isExact)
        XCTAssertEqual(memory.count, 11)
        XCTAssertEqual(stored.lengths, memory.lengths)
        let reopened = try PromptTable.prefillImages(tokens: tokens, encoder: encoder, backboneName: "tiny", projectorDigest: "p", file: file, memoryBudget: 0) { lines.append($0) }
        XCTAssertTrue(lines.last!.contains("all reused"), lines.last!)
        for (m, f) in zip(try memory.caches([0, 7, 8, 10]), try reopened.caches([0, 7, 8, 10])) {
            for (x, y) in zip(m.keys + m.values, f.keys + f.values) {
                for (u, v) in zip(x.toArray(), y.toArray()) { XCTAssertEqual(u, v, accuracy: 2e-3 * max(1, abs(u))) }
            }
        }
        // Another projector (digest) is another file's worth: prefilled afresh, not reused.
        _ = try PromptTable.prefillImages(tokens: tokens, encoder: encoder, backboneName: "tiny", projectorDigest: "q", file: file, memoryBudget: 0) { lines.append($0) }
        XCTAssertTrue(lines.last!.contains("(new)"), lines.last!)
    }
}
