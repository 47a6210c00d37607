import Foundation

/// One `PaperSampleBenchmark` run: per batch size, seconds of prompt prefill, generator steps (experts
/// and vanilla) and decode; resident-memory peaks per phase; the weight variants; PyTorch's figures.
public struct PaperSampleResult {
    public enum WeightVariant: String, Sendable {
        case f32, bf16
        case int8Rowwise = "int8-rowwise"
    }

    public struct BatchRow {
        public let batch: Int
        /// All `steps` of the experts (extrapolated when `expertsStepsRun` < steps).
        public let expertsStepSeconds: Double
        public let expertsStepsRun: Int
        /// All `steps` of the vanilla model, extrapolated from `shortSteps`.
        public let vanillaStepSeconds: Double
    }

    public struct VariantRow {
        public let variant: WeightVariant
        /// Bytes of the generator's matrices in this form (int8: codes + f16 row scales, as the file holds them).
        public let matrixBytes: Int
        /// Resident growth while building and converting the generator.
        public let residentBytes: Int
        /// Batch-1 experts, all steps, extrapolated from `shortSteps`.
        public let stepSeconds: Double
        public let secondsOverF32: Double
        /// max |v − v_f32| over one fixed input per group, and max |v_f32| for scale.
        public let largestVelocityChange: Double
        public let largestF32Velocity: Double
        public let peakBytes: Int
    }

    public enum Torch {
        case ran([String: Any])
        case skipped(String)
    }

    public let options: PaperSampleBenchmark.Options
    public let threads: Int
    /// False when the kernel refused to reset the high-water mark: then every phase peak is the process's.
    public let peakIsPerPhase: Bool
    public var backboneParameters = 0
    public var generatorParameters = 0
    public var decoderParameters = 0
    public var generatorResidentBytes = 0
    public var prefillSeconds = 0.0
    public var prefillPeakBytes = 0
    public var generatorPeakBytes = 0
    public var decodePeakBytes = 0
    public var processPeakBytes = 0
    public var rows: [BatchRow] = []
    public var decodeSeconds: [Int: Double] = [:]
    public var imageShape: [Int] = []
    public var variants: [VariantRow] = []
    public var torch: Torch? = nil

    init(options: PaperSampleBenchmark.Options, threads: Int, peakIsPerPhase: Bool) {
        (self.options, self.threads, self.peakIsPerPhase) = (options, threads, peakIsPerPhase)
    }

    /// Seconds per image at batch n: (prefill + steps + decode) / n. The prefill is shared by the
    /// batch's images (one prompt); a batch of distinct prompts would prefill each once.
    public func secondsPerImage(_ row: BatchRow, vanilla: Bool = false) -> Double {
        ((vanilla ? row.vanillaStepSeconds : row.expertsStepSeconds) + prefillSeconds + (decodeSeconds[row.batch] ?? 0)) / Double(row.batch)
    }

    /// Vanilla's generator steps over the experts' (the paper's 3.0× on a GPU; ideal 4× at K = 4).
    public func stepSpeedup(_ row: BatchRow) -> Double { row.vanillaStepSeconds / row.expertsStepSeconds }

    var torchObject: [String: Any]? { if case .ran(let o) = torch { return o } else { return nil } }

    /// Ours over torch's seconds, "< 1: we are faster", per batch and phase; empty without PyTorch.
    public var ratiosOverTorch: [String: Double] {
        guard let ref = torchObject, let refRows = ref["rows"] as? [[String: Any]] else { return [:] }
        var ratios: [String: Double] = [:]
        if let p = ref["prefill_seconds"] as? Double { ratios["prefill"] = prefillSeconds / p }
        for row in rows {
            guard let r = refRows.first(where: { ($0["batch"] as? Int) == row.batch }) else { continue }
            if let s = r["experts_step_seconds"] as? Double { ratios["experts_steps_batch\(row.batch)"] = row.expertsStepSeconds / s }
            if let s = r["vanilla_step_seconds"] as? Double { ratios["vanilla_steps_batch\(row.batch)"] = row.vanillaStepSeconds / s }
            if let s = r["decode_seconds"] as? Double, let d = decodeSeconds[row.batch] { ratios["decode_batch\(row.batch)"] = d / s }
            if let s = r["seconds_per_image"] as? Double { ratios["per_image_batch\(row.batch)"] = secondsPerImage(row) / s }
        }
        if let peak = ref["peak_rss_bytes"] as? Int, peak > 0 { ratios["peak_memory"] = Double(processPeakBytes) / Double(peak) }
        return ratios
    }

    public func json() throws -> String {
        let o = options
        var result: [String: Any] = [
            "config": o.tiny ? "paper-tiny" : "paper", "threads": threads, "steps": o.steps, "guidance": o.guidance,
            "prompt_tokens": o.promptLength, "short_steps": o.shortSteps, "image": imageShape,
            "backbone_parameters": backboneParameters, "generator_parameters": generatorParameters,
            "decoder_parameters": decoderParameters, "generator_resident_bytes": generatorResidentBytes,
            "prefill_seconds": prefillSeconds, "prefill_peak_bytes": prefillPeakBytes,
            "generator_peak_bytes": generatorPeakBytes, "decode_peak_bytes": decodePeakBytes,
            "peak_rss_bytes": processPeakBytes, "peak_is_per_phase": peakIsPerPhase,
            "rows": rows.map { r -> [String: Any] in
                ["batch": r.batch, "experts_step_seconds": r.expertsStepSeconds, "experts_steps_run": r.expertsStepsRun,
                 "vanilla_step_seconds": r.vanillaStepSeconds, "vanilla_steps_run": o.shortSteps,
                 "decode_seconds": decodeSeconds[r.batch] ?? 0, "seconds_per_image": secondsPerImage(r),
                 "seconds_per_image_vanilla": secondsPerImage(r, vanilla: true), "step_speedup": stepSpeedup(r)]
            },
            "weight_variants": variants.map { v -> [String: Any] in
                ["variant": v.variant.rawValue, "matrix_bytes": v.matrixBytes, "resident_bytes": v.residentBytes,
                 "step_seconds": v.stepSeconds, "seconds_over_f32": v.secondsOverF32, "steps_run": o.shortSteps,
                 "largest_velocity_change": v.largestVelocityChange, "largest_f32_velocity": v.largestF32Velocity,
                 "peak_bytes": v.peakBytes]
            },
        ]
        switch torch {
        case .ran(let object)?:
            result["torch"] = object
            result["ratio_ours_over_torch"] = ratiosOverTorch
        case .skipped(let why)?: result["torch_skipped"] = why
        case nil: result["torch_skipped"] = "--torch not given"
        }
        return try sortedJSON(result)
    }

    public var table: String {
        let o = options
        func gb(_ b: Int) -> String { String(format: "%.2f GB", Double(b) / 1e9) }
        var lines = [
            "paper configuration\(o.tiny ? " (tiny stand-in)" : ""), \(threads) thread(s), \(o.steps) steps, guidance \(o.guidance), "
                + "\(o.promptLength)-token prompt, image \(imageShape); random weights",
            String(format: "backbone %.2f B parameters, generator %.2f B, DC-AE decoder %.0f M", Double(backboneParameters) / 1e9,
                   Double(generatorParameters) / 1e9, Double(decoderParameters) / 1e6),
            String(format: "prompt prefill (prompt + null prompt): %.3f s, peak ", prefillSeconds) + gb(prefillPeakBytes),
        ]
        for r in rows {
            let extrapolated = r.expertsStepsRun < o.steps ? " (extrapolated from \(r.expertsStepsRun) steps)" : ""
            lines.append(String(format: "batch %d: generator steps %.2f s", r.batch, r.expertsStepSeconds) + extrapolated
                         + String(format: ", decode %.2f s, per image %.2f s; vanilla steps %.2f s "
                                    + "(extrapolated from %d steps), per image %.2f s; experts vs vanilla %.2f× (ideal 4×)",
                                  decodeSeconds[r.batch] ?? 0, secondsPerImage(r), r.vanillaStepSeconds, o.shortSteps,
                                  secondsPerImage(r, vanilla: true), stepSpeedup(r)))
        }
        lines.append("peaks: prefill \(gb(prefillPeakBytes)), generator \(gb(generatorPeakBytes)), decode \(gb(decodePeakBytes)), "
                     + "process \(gb(processPeakBytes))\(peakIsPerPhase ? "" : " (the kernel refused to reset the peak: all are the process's)")")
        for v in variants {
            lines.append("generator matrices \(v.variant.rawValue): \(gb(v.matrixBytes)) (resident +\(gb(v.residentBytes))), "
                         + String(format: "batch-1 steps %.2f s (%.2f× f32's; from %d steps), largest velocity change %.3g (largest f32 velocity %.3g)",
                                  v.stepSeconds, v.secondsOverF32, o.shortSteps, v.largestVelocityChange, v.largestF32Velocity))
        }
        switch torch {
        case .ran(let ref)?:
            lines.append("PyTorch eager \(ref["torch_version"] as? String ?? "?"): prefill \(ref["prefill_seconds"] ?? "?") s, rows \(ref["rows"] ?? "?")")
            lines.append("ours / torch (< 1: we are faster): " + ratiosOverTorch.sorted { $0.key < $1.key }
                .map { "\($0.key) " + String(format: "%.2f", $0.value) }.joined(separator: ", "))
        case .skipped(let why)?: lines.append("PyTorch: skipped (\(why))")
        case nil: lines.append("PyTorch: not run (--torch)")
        }
        return lines.joined(separator: "\n")
    }
}
