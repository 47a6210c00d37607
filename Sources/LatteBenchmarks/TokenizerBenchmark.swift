import Foundation
import LatteTokenizers

/// Load time and encode throughput of a tokenizer on a deterministic ~1 MB text, next to HF `tokenizers`
/// measured on the same text by scripts/bench_tokenizers.py when Python has it.
public struct TokenizerBenchmark {
    public struct Options: Sendable {
        /// A tokenizer.json or GGUF file; nil: the SmolLM2 GGUF in $LATTE_HOME.
        public var tokenizer: String?
        /// Text file to encode; nil: a generated mixed text of `megabytes`.
        public var text: String?
        public var megabytes: Double
        /// The reference script; skipped when absent or Python lacks `tokenizers`.
        public var script: String
        public var python: String

        public init(tokenizer: String? = nil, text: String? = nil, megabytes: Double = 1,
                    script: String = "scripts/bench_tokenizers.py", python: String = "python3") {
            self.tokenizer = tokenizer
            self.text = text
            self.megabytes = megabytes
            self.script = script
            self.python = python
        }

        /// `tokenizer`, or SmolLM2's GGUF in the asset cache.
        public var tokenizerPath: String {
            let home = ProcessInfo.processInfo.environment["LATTE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
                ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/latteflow").path
            return tokenizer ?? home + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    /// Our side: best of three loads; a cold encode (fresh tokenizer, empty word cache); the best of
    /// three warm encodes; the best of three line-by-line passes, as a data loader would encode.
    public func measure() throws -> TokenizerMeasurement {
        let path = options.tokenizerPath
        let url = URL(fileURLWithPath: path)

        var loadTimes: [Double] = []
        var tok: Tokenizer!
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            tok = try Tokenizer.load(contentsOf: url)
            loadTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }

        let textURL: URL
        if let text = options.text {
            textURL = URL(fileURLWithPath: text)
        } else {
            textURL = FileManager.default.temporaryDirectory.appendingPathComponent("latte-bench-tokenizer.txt")
            try Data(Self.generatedText(bytes: Int(options.megabytes * 1_000_000)).utf8).write(to: textURL)
        }
        guard let body = String(validating: try Data(contentsOf: textURL), as: UTF8.self) else {
            throw BenchmarkOptionError("\(textURL.path) is not UTF-8 text")
        }

        let cold = try Tokenizer.load(contentsOf: url)
        var t0 = DispatchTime.now().uptimeNanoseconds
        let ids = cold.encode(body, addSpecialTokens: false)
        let coldTime = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        var warm = Double.infinity
        for _ in 0..<3 {
            t0 = DispatchTime.now().uptimeNanoseconds
            _ = tok.encode(body, addSpecialTokens: false)
            warm = min(warm, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        // Many short encodes, so per-call overhead shows.
        let lines = body.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        var linesTime = Double.infinity
        for _ in 0..<3 {
            t0 = DispatchTime.now().uptimeNanoseconds
            for l in lines { _ = tok.encode(l, addSpecialTokens: false) }
            linesTime = min(linesTime, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return TokenizerMeasurement(tokenizerPath: path, textPath: textURL.path, megabytes: Double(body.utf8.count) / 1e6,
                                    ids: ids, loadSeconds: loadTimes.min()!, coldSeconds: coldTime, warmSeconds: warm,
                                    linesSeconds: linesTime)
    }

    /// HF `tokenizers` on the same tokenizer and text, or why it was skipped.
    public func reference(for ours: TokenizerMeasurement) -> TokenizerReference {
        guard FileManager.default.fileExists(atPath: options.script) else {
            return .skipped("\(options.script) not found; run from the repository root")
        }
        guard let run = runReferenceScript(python: options.python,
                                           [options.script, "--tokenizer", ours.tokenizerPath, "--text", ours.textPath]) else {
            return .skipped("\(options.python) not runnable")
        }
        guard run.status == 0,
              let ref = try? JSONSerialization.jsonObject(with: run.output) as? [String: Any],
              let refLoad = ref["load_s"] as? Double, let refCold = ref["encode_cold_mb_s"] as? Double,
              let refWarm = ref["encode_warm_mb_s"] as? Double, let refTokens = ref["tokens"] as? Int,
              let refLines = ref["encode_lines_mb_s"] as? Double, let refDigest = ref["ids_fnv1a"] as? String
        else {
            return .skipped("Python lacks `tokenizers`/`gguf`, or the script failed")
        }
        return .measured(HFTokenizersMeasurement(loadSeconds: refLoad, encodeColdMBPerSecond: refCold,
                                                 encodeWarmMBPerSecond: refWarm, encodeLinesMBPerSecond: refLines,
                                                 tokens: refTokens, idsDigest: refDigest))
    }

    /// FNV-1a 64 of the ids written as "id," (scripts/bench_tokenizers.py computes the same).
    public static func digest(_ ids: [Int]) -> String {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for id in ids {
            for b in "\(id),".utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3 }
        }
        return String(h, radix: 16)
    }

    /// Deterministic mixed text: English words, numbers, code-like punctuation, accents, CJK and emoji.
    public static func generatedText(bytes: Int) -> String {
        let words = ["the", "of", "and", "to", "in", "is", "that", "for", "it", "as", "with", "was", "on", "be", "by",
                     "image", "model", "flow", "latent", "training", "tokenizer", "generation", "attention", "layer",
                     "expert", "timestep", "diffusion", "language", "vision", "transformer", "encoder", "decoder",
                     "Paris", "France", "January", "LatteFlow", "SmolLM2", "Qwen2-VL", "café", "naïve", "Zürich",
                     "日本語", "中文", "한국어", "Привет", "😀", "👍🏽", "x²", "½", "don't", "it's", "we'll",
                     "f(x)", "a[i]", "x += 1;", "{", "}", "==", "->", "#include", "https://example.com"]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(truncatingIfNeeded: state >> 33)
        }
        var out = ""
        out.reserveCapacity(bytes + 64)
        var inLine = 0
        while out.utf8.count < bytes {
            let r = next() % 100
            if r < 8 {
                out += " \(next() % 100_000)"
            } else if r < 11 {
                out += [", ", ". ", "; ", ": ", "! ", "? "][next() % 6]
            } else {
                out += (inLine == 0 ? "" : " ") + words[next() % words.count]
            }
            inLine += 1
            if inLine > 14 && next() % 5 == 0 {
                out += next() % 4 == 0 ? "\n\n" : "\n"
                if next() % 6 == 0 { out += "    " }
                inLine = 0
            }
        }
        return out
    }
}
