import ArgumentParser
import Foundation
import LatteTokenizers

/// `latte bench tokenizer`: load time and encode throughput on a deterministic ~1 MB text, next to HF
/// `tokenizers` measured on the same text by scripts/bench_tokenizers.py when Python has it.
struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenizer", abstract: "Tokenizer load time and encode throughput against HF tokenizers.")

    @Option(name: .long, help: "A tokenizer.json or GGUF file (default: the SmolLM2 GGUF in $LATTE_HOME).")
    var tokenizer: String?

    @Option(name: .long, help: "Text file to encode (default: a generated mixed text of --megabytes).")
    var text: String?

    @Option(name: .long, help: "Size of the generated text in MB.")
    var megabytes: Double = 1

    @Option(name: .long, help: "The reference script; skipped when absent or Python lacks `tokenizers`.")
    var script: String = "scripts/bench_tokenizers.py"

    @Option(name: .long, help: "Python interpreter for the reference.")
    var python: String = "python3"

    func run() throws {
        let home = ProcessInfo.processInfo.environment["LATTE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/latteflow").path
        let path = tokenizer ?? home + "/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"
        let url = URL(fileURLWithPath: path)

        var loadTimes: [Double] = []
        var tok: Tokenizer!
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            tok = try Tokenizer.load(contentsOf: url)
            loadTimes.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }

        let textURL: URL
        if let text {
            textURL = URL(fileURLWithPath: text)
        } else {
            textURL = FileManager.default.temporaryDirectory.appendingPathComponent("latte-bench-tokenizer.txt")
            try Data(BenchTokenizerCommand.generatedText(bytes: Int(megabytes * 1_000_000)).utf8).write(to: textURL)
        }
        guard let body = String(validating: try Data(contentsOf: textURL), as: UTF8.self) else {
            throw ValidationError("\(textURL.path) is not UTF-8 text")
        }
        let mb = Double(body.utf8.count) / 1e6

        // Cold: a freshly loaded tokenizer (empty word cache); warm: best of three more runs.
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
        print("tokenizer: \(path)")
        print(String(format: "text: %@ (%.2f MB, %d tokens)", textURL.path, mb, ids.count))
        print(String(format: "LatteTokenizers  load %.3f s   encode cold %.2f MB/s   warm %.2f MB/s",
                     loadTimes.min()!, mb / coldTime, mb / warm))

        guard FileManager.default.fileExists(atPath: script) else {
            print("HF tokenizers: skipped (\(script) not found; run from the repository root)")
            return
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [python, script, "--tokenizer", path, "--text", textURL.path]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch {
            print("HF tokenizers: skipped (\(python) not runnable)")
            return
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0,
              let ref = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let refLoad = ref["load_s"] as? Double, let refCold = ref["encode_cold_mb_s"] as? Double,
              let refWarm = ref["encode_warm_mb_s"] as? Double, let refTokens = ref["tokens"] as? Int
        else {
            print("HF tokenizers: skipped (Python lacks `tokenizers`/`gguf`, or the script failed)")
            return
        }
        print(String(format: "HF tokenizers    load %.3f s   encode cold %.2f MB/s   warm %.2f MB/s   (%d tokens%@)",
                     refLoad, refCold, refWarm, refTokens, refTokens == ids.count ? ", same count" : ", COUNT DIFFERS"))
        print(String(format: "ratio (Latte / HF): encode cold %.2f×, warm %.2f×", (mb / coldTime) / refCold, (mb / warm) / refWarm))
    }

    /// Deterministic mixed text: English words, numbers, code-like punctuation, accents, CJK and emoji.
    static func generatedText(bytes: Int) -> String {
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
