import ArgumentParser
import Foundation
import LatteKernels
import LatteModels
import LatteTensor

/// `latte bench lm`: prompt-processing and decoding speed of a language model (any `CausalLanguageModel`) at 1 and 2 threads,
/// CPU milliseconds per token (what a loaded machine inflates least), and peak resident memory — the
/// numbers issue 7 compares with llama.cpp F32 and PyTorch (scripts/bench_lm_torch.py measures transformers on the same shapes). `--quantized` measures the
/// weights-kept-quantised mode; run it as its own process, since peak memory is per process.
struct BenchLMCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lm", abstract: "Language-model prefill and decode tokens/s, peak memory.")

    @Option(help: "A GGUF file, a Hugging Face folder or a known name (smollm2).") var model = "smollm2"
    @Option(help: "Prompt tokens processed in one batch.") var promptTokens = 256
    @Option(help: "Tokens decoded one at a time after the prompt.") var decodeTokens = 64
    @Option(help: "Thread counts to measure, comma-separated.") var threads = "1,2"
    @Option(help: "Timed repetitions of prefill (the best is reported).") var repeats = 2
    @Flag(help: "Keep a GGUF's Q8_0/Q4_1 weights quantised in memory (dequantised inside the products).")
    var quantized = false
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        guard promptTokens > 0 else { throw ValidationError("--prompt-tokens must be > 0, got \(promptTokens)") }
        guard decodeTokens > 0 else { throw ValidationError("--decode-tokens must be > 0, got \(decodeTokens)") }
        guard repeats > 0 else { throw ValidationError("--repeats must be > 0, got \(repeats)") }
        guard !threadCounts.isEmpty, threadCounts.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--threads must be positive integers separated by commas, got '\(threads)'")
        }
    }

    private var threadCounts: [Int] { threads.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func run() throws {
        let modelURL = try Backbone.locate(model)
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let lm = try Backbone.loadModel(at: modelURL, keepQuantized: quantized)
        let loadSeconds = seconds(since: loadStart)
        let c = lm.geometry
        guard promptTokens + decodeTokens <= c.contextLength else {
            throw ValidationError("\(promptTokens) + \(decodeTokens) tokens exceed the model's \(c.contextLength) positions")
        }
        // Fixed pseudo-random ids: speed does not depend on the text, and no tokenizer is needed.
        var rng = RandomGenerator(seed: 7)
        let prompt = (0..<promptTokens).map { _ in rng.nextInt(below: c.vocabularySize) }

        var rows: [[String: Any]] = []
        for t in threadCounts {
            Parallel.threadCount = t
            var prefillBest = Double.infinity, prefillCPU = Double.infinity
            var decode = 0.0, decodeCPU = Double.infinity
            var greedy = TokenSampler(SamplingParameters())
            for _ in 0..<repeats {
                let cache = lm.makeCache()
                var start = DispatchTime.now().uptimeNanoseconds
                var cpuStart = processCPUSeconds()
                var last = withoutGradient { lm.lastLogits(Tensor(indices: prompt, shape: [1, promptTokens]), cache: cache) }
                prefillBest = min(prefillBest, seconds(since: start))
                prefillCPU = min(prefillCPU, processCPUSeconds() - cpuStart)
                // Decoding feeds one token against the cache: the prompt is never re-run.
                start = DispatchTime.now().uptimeNanoseconds
                cpuStart = processCPUSeconds()
                for _ in 0..<decodeTokens {
                    let row = last.contiguous()
                    let next = withExtendedLifetime(row) {
                        greedy.sample(UnsafeBufferPointer(start: row.f32, count: row.count), history: [])
                    }
                    last = withoutGradient { lm.lastLogits(Tensor(indices: [next], shape: [1, 1]), cache: cache) }
                }
                decode = max(decode, Double(decodeTokens) / seconds(since: start))
                decodeCPU = min(decodeCPU, processCPUSeconds() - cpuStart)
            }
            // CPU time beside wall time: on a shared machine wall time includes waiting for a core.
            rows.append(["threads": t, "prefill_tokens_per_second": Double(promptTokens) / prefillBest,
                         "decode_tokens_per_second": decode,
                         "prefill_cpu_ms_per_token": prefillCPU * 1000 / Double(promptTokens),
                         "decode_cpu_ms_per_token": decodeCPU * 1000 / Double(decodeTokens)])
        }
        let peak = peakResidentMegabytes()
        if json {
            let object: [String: Any] = [
                "model": modelURL.path, "prompt_tokens": promptTokens, "decode_tokens": decodeTokens,
                "layers": c.layerCount, "hidden": c.hiddenSize, "load_seconds": loadSeconds,
                "weights": quantized ? "quantized" : "float32",
                "peak_resident_mb": peak as Any, "results": rows]
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("\(modelURL.lastPathComponent) (\(quantized ? "weights kept quantised" : "float32 weights")): \(promptTokens) prompt tokens, \(decodeTokens) decoded, load \(String(format: "%.2f", loadSeconds)) s")
            for r in rows {
                print(String(format: "threads %d: prefill %.1f tok/s (%.2f CPU ms/token), decode %.1f tok/s (%.2f CPU ms/token)",
                             r["threads"] as! Int, r["prefill_tokens_per_second"] as! Double, r["prefill_cpu_ms_per_token"] as! Double,
                             r["decode_tokens_per_second"] as! Double, r["decode_cpu_ms_per_token"] as! Double))
            }
            print(peak.map { String(format: "peak resident memory %.0f MB", $0) } ?? "peak resident memory unknown (no /proc/self/status)")
        }
    }

    private func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// CPU time of the whole process (every thread, including pool workers waiting for work).
    private func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// VmHWM from /proc/self/status (Linux), in MB; nil elsewhere.
    private func peakResidentMegabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }
}
