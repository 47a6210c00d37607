import Foundation
import LatteKernels
import LatteModels
import LatteTensor

/// Prompt-processing and decoding speed of a language model (any `CausalLanguageModel`) at several
/// thread counts, CPU milliseconds per token (what a loaded machine inflates least), and peak resident
/// memory — the numbers compared with llama.cpp and PyTorch (scripts/bench_lm_torch.py measures
/// transformers on the same shapes). Peak memory is per process: measure each weight mode in its own.
public struct LanguageModelBenchmark {
    public struct Options {
        /// A GGUF file, a Hugging Face folder, a known backbone name (smollm2), or a randomly initialised
        /// Qwen2-VL (`RandomQwen2VL.names`: qwen2-vl-2b-random, qwen2-vl-tiny-random).
        public var model = "smollm2"
        public var promptTokens = 256
        public var decodeTokens = 64
        public var threadCounts = [1, 2]
        /// Timed repetitions of prefill and decode (the best counts).
        public var repeats = 2
        /// Keep a GGUF's Q8_0 / Q4_1 weights quantised in memory.
        public var quantized = false
        /// The layers' format when `quantized` quantises a Qwen2-VL folder at load.
        public var quantizedFormat = QuantizedFormat.q8_0
        /// The weight format of a random Qwen2-VL model.
        public var randomWeights = RandomQwen2VL.Weights.f32
        /// Also measure the streaming-read bandwidth at each thread count (the decode speed limit), in
        /// this process before the model is loaded; its buffer is freed and the peak-memory mark reset
        /// after, so it does not count in the peak.
        public var measureBandwidth = true
        public init() {}

        /// What the weights are, as the report names them.
        public var weightsLabel: String {
            if RandomQwen2VL.isTiny(model) != nil { return randomWeights.rawValue }
            return quantized ? "quantized" : "float32"
        }
    }

    /// One thread count's speeds.
    public struct Row {
        public let threads: Int
        public let prefillTokensPerSecond: Double
        public let decodeTokensPerSecond: Double
        public let prefillCPUMillisecondsPerToken: Double
        public let decodeCPUMillisecondsPerToken: Double
        /// Streaming-read bytes per second at this thread count, measured in the same process (before loading).
        public let readBytesPerSecond: Double?
    }

    public struct Result {
        public let model: URL
        public let options: Options
        public let layers: Int, hidden: Int
        public let loadSeconds: Double
        public let rows: [Row]
        public let peakResidentMegabytes: Double?
        /// Bytes of weights one decoded token reads, when the model can say (Qwen2-VL).
        public let decodeWeightBytes: Int?
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    public func run() throws -> Result {
        let o = options
        var bandwidths: [Int: Double] = [:]
        if o.measureBandwidth {
            for t in o.threadCounts { bandwidths[t] = Parallel.withThreadCount(t) { MemoryBandwidth.streamingRead() } }
            ResidentMemory.resetPeak()
        }
        let loadStart = DispatchTime.now().uptimeNanoseconds
        let modelURL: URL, lm: any CausalLanguageModel
        if let tiny = RandomQwen2VL.isTiny(o.model) {
            modelURL = URL(fileURLWithPath: o.model)
            lm = try RandomQwen2VL.languageModel(tiny: tiny, weights: o.randomWeights)
        } else {
            modelURL = try Backbone.locate(o.model)
            lm = try Backbone.loadModel(at: modelURL, keepQuantized: o.quantized, quantizedFormat: o.quantizedFormat)
        }
        let loadSeconds = Self.seconds(since: loadStart)
        let weightBytes = (lm as? Qwen2VLModel)?.decodeWeightBytes
        let c = lm.geometry
        guard o.promptTokens + o.decodeTokens <= c.contextLength else {
            throw BenchmarkOptionError("\(o.promptTokens) + \(o.decodeTokens) tokens exceed the model's \(c.contextLength) positions")
        }
        // Fixed pseudo-random ids: speed does not depend on the text, and no tokenizer is needed.
        var rng = RandomGenerator(seed: 7)
        let prompt = (0..<o.promptTokens).map { _ in rng.nextInt(below: c.vocabularySize) }

        var rows: [Row] = []
        for t in o.threadCounts {
            Parallel.threadCount = t
            var prefillBest = Double.infinity, prefillCPU = Double.infinity
            var decode = 0.0, decodeCPU = Double.infinity
            var greedy = TokenSampler(SamplingParameters())
            let bandwidth = bandwidths[t]
            for _ in 0..<o.repeats {
                let cache = lm.makeCache()
                var start = DispatchTime.now().uptimeNanoseconds
                var cpuStart = Self.processCPUSeconds()
                var last = withoutGradient { lm.lastLogits(Tensor(indices: prompt, shape: [1, o.promptTokens]), cache: cache) }
                prefillBest = min(prefillBest, Self.seconds(since: start))
                prefillCPU = min(prefillCPU, Self.processCPUSeconds() - cpuStart)
                // Decoding feeds one token against the cache: the prompt is never re-run.
                start = DispatchTime.now().uptimeNanoseconds
                cpuStart = Self.processCPUSeconds()
                for _ in 0..<o.decodeTokens {
                    let row = last.contiguous()
                    let next = withExtendedLifetime(row) {
                        greedy.sample(UnsafeBufferPointer(start: row.f32, count: row.count), history: [])
                    }
                    last = withoutGradient { lm.lastLogits(Tensor(indices: [next], shape: [1, 1]), cache: cache) }
                }
                decode = max(decode, Double(o.decodeTokens) / Self.seconds(since: start))
                decodeCPU = min(decodeCPU, Self.processCPUSeconds() - cpuStart)
            }
            // CPU time beside wall time: on a shared machine wall time includes waiting for a core.
            rows.append(Row(threads: t, prefillTokensPerSecond: Double(o.promptTokens) / prefillBest, decodeTokensPerSecond: decode,
                            prefillCPUMillisecondsPerToken: prefillCPU * 1000 / Double(o.promptTokens),
                            decodeCPUMillisecondsPerToken: decodeCPU * 1000 / Double(o.decodeTokens),
                            readBytesPerSecond: bandwidth))
        }
        return Result(model: modelURL, options: o, layers: c.layerCount, hidden: c.hiddenSize, loadSeconds: loadSeconds,
                      rows: rows, peakResidentMegabytes: Self.peakResidentMegabytes(), decodeWeightBytes: weightBytes)
    }

    static func seconds(since start: UInt64) -> Double { Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9 }

    /// CPU time of the whole process (every thread, including pool workers waiting for work).
    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// VmHWM from /proc/self/status (Linux), in MB; nil elsewhere.
    static func peakResidentMegabytes() -> Double? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
        return kb / 1024
    }
}

extension LanguageModelBenchmark.Result {
    /// One JSON object with sorted keys (what scripts read).
    public func json() throws -> String {
        let o = options
        let results: [[String: Any]] = rows.map {
            ["threads": $0.threads, "prefill_tokens_per_second": $0.prefillTokensPerSecond,
             "decode_tokens_per_second": $0.decodeTokensPerSecond, "prefill_cpu_ms_per_token": $0.prefillCPUMillisecondsPerToken,
             "decode_cpu_ms_per_token": $0.decodeCPUMillisecondsPerToken,
             "read_bytes_per_second": $0.readBytesPerSecond as Any,
             "decode_limit_tokens_per_second": decodeLimit($0) as Any]
        }
        let object: [String: Any] = [
            "model": model.path, "prompt_tokens": o.promptTokens, "decode_tokens": o.decodeTokens,
            "layers": layers, "hidden": hidden, "load_seconds": loadSeconds,
            "weights": o.weightsLabel, "decode_weight_bytes": decodeWeightBytes as Any,
            "peak_resident_mb": peakResidentMegabytes as Any, "results": results]
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The human-readable report, one line per thread count.
    public var table: String {
        let o = options
        var lines = ["\(model.lastPathComponent) (weights \(o.weightsLabel)): \(o.promptTokens) prompt tokens, \(o.decodeTokens) decoded, load \(String(format: "%.2f", loadSeconds)) s"
                     + (decodeWeightBytes.map { String(format: ", %.3f GB of weights read per decoded token", Double($0) / 1e9) } ?? "")]
        for r in rows {
            var line = String(format: "threads %d: prefill %.2f tok/s (%.2f CPU ms/token), decode %.3f tok/s (%.2f CPU ms/token)",
                              r.threads, r.prefillTokensPerSecond, r.prefillCPUMillisecondsPerToken,
                              r.decodeTokensPerSecond, r.decodeCPUMillisecondsPerToken)
            if let bw = r.readBytesPerSecond { line += String(format: "; streaming read %.1f GB/s", bw / 1e9) }
            if let limit = decodeLimit(r) {
                line += String(format: " → bandwidth limit %.3f tok/s, decode at %.0f %% of it", limit, 100 * r.decodeTokensPerSecond / limit)
            }
            lines.append(line)
        }
        lines.append(peakResidentMegabytes.map { String(format: "peak resident memory %.0f MB", $0) } ?? "peak resident memory unknown (no /proc/self/status)")
        return lines.joined(separator: "\n")
    }
}

extension LanguageModelBenchmark.Result {
    /// Tokens/s if decoding only streamed the weights at the measured read bandwidth.
    func decodeLimit(_ r: LanguageModelBenchmark.Row) -> Double? {
        guard let bw = r.readBytesPerSecond, let bytes = decodeWeightBytes, bytes > 0 else { return nil }
        return bw / Double(bytes)
    }
}
