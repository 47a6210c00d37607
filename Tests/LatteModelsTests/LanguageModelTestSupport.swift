import Foundation
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers
import XCTest

/// Helpers for the family-independent language-model tests.
enum LanguageModelFixtures {
    /// A tokenizer.json whose ids 0..<count are the single tokens "w0 ", "w1 ", … (the tiny fixture
    /// models come without one; decoding is all the stream needs).
    static func tokenizerJSON(vocabularySize count: Int) -> Data {
        let vocab = (0..<count).map { "\"w\($0) \": \($0)" }.joined(separator: ", ")
        return Data((#"{"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null, "model": {"type": "BPE", "vocab": {"# + vocab + #"}, "merges": []}}"#).utf8)
    }

    static func tokenizer(vocabularySize count: Int) throws -> Tokenizer {
        try Tokenizer(jsonData: tokenizerJSON(vocabularySize: count), file: "tiny-tokenizer.json")
    }

    /// A temporary copy of a fixture folder's config.json and weights, with a tokenizer.json added.
    static func folderWithTokenizer(_ source: URL, vocabularySize: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lm-\(source.lastPathComponent)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        try tokenizerJSON(vocabularySize: vocabularySize).write(to: dir.appendingPathComponent("tokenizer.json"))
        return dir
    }
}

/// Wraps a model and counts its decode steps, each slowed down, so a test can see generation stop.
final class SlowCountingModel: CausalLanguageModel {
    let base: any CausalLanguageModel
    let lock = NSLock()
    private var steps = 0

    init(_ base: any CausalLanguageModel) { self.base = base }

    var stepCount: Int { lock.lock(); defer { lock.unlock() }; return steps }
    var geometry: LanguageModelGeometry { base.geometry }

    func hiddenStates(_ tokens: Tensor, cache: KVCache?) -> Tensor {
        lock.lock(); steps += 1; lock.unlock()
        Thread.sleep(forTimeInterval: 0.02)
        return base.hiddenStates(tokens, cache: cache)
    }

    func logits(_ hidden: Tensor) -> Tensor { base.logits(hidden) }
}
