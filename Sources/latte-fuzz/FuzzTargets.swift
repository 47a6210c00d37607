import Foundation
import LatteFlow
import LatteFormats
import LatteModels
import LatteTensor
import LatteTokenizers

/// One fuzz target per parser. Each must return normally for every input: a thrown error is the
/// correct answer to bad bytes, a trap or a sanitizer report is a bug. Whatever parses is also used a
/// little (decoded, tokenised, dequantised), so that later stages see hostile-but-valid files.
enum FuzzTargets {
    static let all: [String: ([UInt8]) -> Void] = [
        "safetensors": safetensors,
        "gguf": gguf,
        "tokenizer-json": tokenizerJSON,
        "gguf-vocabulary": ggufVocabulary,
        "image": image,
        "dataset": dataset,
        "config-json": configJSON,
    ]

    /// The config.json readers: LLaMA and Qwen2-VL (HF), AutoencoderKL and AutoencoderDC (diffusers), the
    /// generator, the text-to-image model.json, and a generator config file with its backbone-layer pairing.
    static func configJSON(_ bytes: [UInt8]) {
        let url = scratchFile(bytes, suffix: "json")
        if let c = try? LLaMAConfiguration(configJSON: url) { _ = c.inverseFrequencies }
        if let c = try? JSONDecoder().decode(AutoencoderKLConfiguration.self, from: Data(bytes)) { _ = c.problems() }
        _ = try? AutoencoderDCConfiguration.load(contentsOf: url)
        _ = try? GeneratorConfiguration.load(from: url)
        _ = try? TextToImageManifest.load(from: url)
        _ = try? Qwen2VLConfiguration(configJSON: url)
        // A generator config file (`latte train --generator-config`) and its pairing resolved.
        if let shape = try? GeneratorShape(file: url, flags: .init()) { _ = try? shape.backboneLayers.resolve(layerCount: 28) }
        if let text = String(bytes: bytes, encoding: .utf8), let selection = try? BackboneLayerSelection(parsing: text) {
            _ = try? selection.resolve(layerCount: 28)
        }
    }

    static func safetensors(_ bytes: [UInt8]) {
        // The reader memory-maps a path, so the input goes through a scratch file.
        let url = scratchFile(bytes, suffix: "safetensors")
        if let file = try? Safetensors.read(contentsOf: url) {
            for t in file.tensors.values where t.count < 1 << 16 { _ = t.toArray() }
        }
    }

    static func gguf(_ bytes: [UInt8]) {
        guard let file = try? GGUFFile(bytes: bytes, name: "fuzz.gguf") else { return }
        for info in file.tensors.prefix(4) where info.elementCount < 1 << 16 {
            _ = try? file.dequantize(info)
        }
    }

    static func tokenizerJSON(_ bytes: [UInt8]) {
        guard let t = try? Tokenizer(jsonData: Data(bytes), file: "fuzz.json") else { return }
        let ids = t.encode("Hello wörld 12345 <s> [CLS] 日本語 😀\n\t", addSpecialTokens: true)
        _ = t.decode(ids + [0, 1, 2, 1 << 30, -1], skipSpecialTokens: false)
    }

    static func ggufVocabulary(_ bytes: [UInt8]) {
        guard let v = try? GGUFVocabulary(data: Data(bytes), file: "fuzz.gguf"),
              let t = try? Tokenizer.fromGGUF(v, file: "fuzz.gguf") else { return }
        _ = t.decode(t.encode("Hello 123 <|im_start|>"))
    }

    static func image(_ bytes: [UInt8]) {
        let limits = ImageLimits(maxDimension: 4096, maxPixels: 1 << 22)
        if let image = try? ImageFile.decode(bytes, file: "fuzz", limits: limits) {
            precondition(image.pixels.count == image.width * image.height * image.channels)
            _ = image.resized(width: 7, height: 5, filter: .bicubic)
        }
        _ = try? PNG.decode16(bytes, file: "fuzz", limits: limits)
    }

    static func dataset(_ bytes: [UInt8]) {
        let raw = (try? DatasetFiles.gunzip(bytes, file: "fuzz", maxBytes: 1 << 24)) ?? bytes
        if let array = try? IDXArray(bytes: raw, file: "fuzz") { precondition(array.data.count == array.shape.reduce(1, *)) }
        if let csv = try? CSVDigitsDataset(bytes: raw, layout: .init(width: 2, height: 2, maxValue: 16), file: "fuzz") {
            for i in 0..<csv.count { _ = try? csv.item(at: i) }
        }
        _ = try? CaptionLines.parse(raw, file: "fuzz")
        _ = try? ClassNameMap(bytes: raw, file: "fuzz")
    }

    static func scratchFile(_ bytes: [UInt8], suffix: String) -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("latte-fuzz-\(getpid()).\(suffix)")
        _ = FileManager.default.createFile(atPath: url.path, contents: Data(bytes))
        return url
    }

    /// The target named by LATTE_FUZZ_TARGET.
    static var selected: ([UInt8]) -> Void {
        let name = ProcessInfo.processInfo.environment["LATTE_FUZZ_TARGET"] ?? ""
        guard let target = all[name] else {
            FileHandle.standardError.write(Data("set LATTE_FUZZ_TARGET to one of: \(all.keys.sorted().joined(separator: ", "))\n".utf8))
            exit(2)
        }
        return target
    }
}
