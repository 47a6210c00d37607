import Foundation
import LatteFormats
import LatteModels

/// The tiny random Qwen2-VL checkpoints of LatteModelsTests (scripts/make_qwen2vl_fixtures.py) as
/// generator backbones: a temporary Hugging Face folder with their config and weights and a small
/// character tokenizer, as `latte train --backbone DIR` reads one.
enum TinyQwen2VLBackbone {
    /// The fixture folders live in the LatteModelsTests bundle; the source tree is where both come from.
    static func fixture(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("LatteModelsTests/Fixtures/qwen2vl").appendingPathComponent(name)
    }

    /// Lower-case letters and the space are ids 0–26, `<|im_start|>` is 27 (both fixtures have more
    /// ids than that); no merges, so a word is its letters.
    static let tokenizerJSON: Data = {
        let letters = (0..<26).map { "\"\(Character(UnicodeScalar(UInt8(97 + $0))))\": \($0)" } + ["\" \": 26", "\"<|im_start|>\": 27"]
        let added = #"{"id": 27, "content": "<|im_start|>", "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true}"#
        return Data((#"{"version": "1.0", "added_tokens": ["# + added + #"], "normalizer": null, "pre_tokenizer": null, "post_processor": null, "decoder": null, "model": {"type": "BPE", "vocab": {"# + letters.joined(separator: ", ") + #"}, "merges": []}}"#).utf8)
    }()

    /// A folder inside `parent` holding fixture `name` with the tokenizer.
    static func folder(_ name: String, in parent: URL) throws -> URL {
        let source = fixture(name)
        guard FileManager.default.fileExists(atPath: source.appendingPathComponent("model.safetensors").path) else {
            throw BackboneError("the committed Qwen2-VL fixture \(source.path) is missing")
        }
        let dir = parent.appendingPathComponent("qwen2vl-\(name)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for file in ["config.json", "model.safetensors"] {
            try FileManager.default.copyItem(at: source.appendingPathComponent(file), to: dir.appendingPathComponent(file))
        }
        try tokenizerJSON.write(to: dir.appendingPathComponent("tokenizer.json"))
        return dir
    }
}
