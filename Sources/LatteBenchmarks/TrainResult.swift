import Foundation
import LatteFlow

/// One `TrainBenchmark` run: per batch size the seconds of an expert step (gradients and update apart)
/// and the resident peak, the analytic FLOPs per sample, and the DC-AE encoding cost when measured.
public struct TrainResult {
    public struct BatchRow: Sendable {
        public let batch: Int
        /// Whole step as `TrainingRun` logs it: gradients + clip + AdamW + EMA.
        public let stepSeconds: Double
        /// `computeGradients` alone: condition dropout, forward and backward.
        public let gradientSeconds: Double
        /// CPU seconds of the whole process over a step (all threads; the least of the timed steps).
        public let stepCPUSeconds: Double
        /// VmHWM during this batch size's run (since the process started when the reset is refused).
        public let peakResidentBytes: Int

        public init(batch: Int, stepSeconds: Double, gradientSeconds: Double, stepCPUSeconds: Double, peakResidentBytes: Int) {
            self.batch = batch
            self.stepSeconds = stepSeconds
            self.gradientSeconds = gradientSeconds
            self.stepCPUSeconds = stepCPUSeconds
            self.peakResidentBytes = peakResidentBytes
        }

        public var updateSeconds: Double { max(0, stepSeconds - gradientSeconds) }
        public var secondsPerSample: Double { stepSeconds / Double(batch) }
        public var cpuSecondsPerSample: Double { stepCPUSeconds / Double(batch) }
    }

    public struct Encoding: Sendable {
        public let batch: Int
        public let secondsPerImage: Double
        public let cpuSecondsPerImage: Double
        /// [C, h, w] of one latent.
        public let latentShape: [Int]
        /// The encoder's parameters (the decoder is not needed to build a cache).
        public let parameters: Int
        public let peakResidentBytes: Int

        /// Bytes of one cached latent in f32 (a cache in f16 takes half).
        public var latentBytes: Int { latentShape.reduce(4, *) }
    }

    public let options: TrainBenchmark.Options
    public let configuration: GeneratorConfiguration
    public let threads: Int
    public let flops: ExpertStepFLOPs
    public let parameters: Int
    public let trainableParameters: Int
    /// Resident growth while building the model, its arena, optimiser state and the benchmark batches.
    public let modelResidentBytes: Int
    /// False when the kernel refused to reset the peak: then every row's peak is the process's.
    public let peakIsPerBatch: Bool
    public let rows: [BatchRow]
    public let encoding: Encoding?

    /// Achieved GFLOP/s of forward + backward (the counted FLOPs over the gradient time).
    public func gradientGFLOPS(_ row: BatchRow) -> Double { flops.training * Double(row.batch) / row.gradientSeconds / 1e9 }

    /// Counted training FLOPs per CPU-second of the whole step (update included): the per-core
    /// throughput that scales a run to other core counts, less inflated by other processes than wall time.
    public func gflopsPerCPUSecond(_ row: BatchRow) -> Double { flops.training * Double(row.batch) / row.stepCPUSeconds / 1e9 }

    /// Extra resident bytes per extra sample: the peak's slope between the smallest and largest batch
    /// (activations and their gradients kept for the backward pass); nil with one batch size.
    public var activationBytesPerSample: Double? {
        guard let lo = rows.min(by: { $0.batch < $1.batch }), let hi = rows.max(by: { $0.batch < $1.batch }), hi.batch > lo.batch else { return nil }
        return Double(hi.peakResidentBytes - lo.peakResidentBytes) / Double(hi.batch - lo.batch)
    }

    /// Seconds of the update (clip + AdamW + EMA) per trainable parameter, from the largest batch's step.
    public var updateSecondsPerParameter: Double {
        let row = rows.max(by: { $0.batch < $1.batch })!
        return row.updateSeconds / Double(max(trainableParameters, 1))
    }

    /// Bytes per parameter when every group trains: weights, gradient, AdamW's two moments, EMA (f32).
    public static let bytesPerTrainedParameter = 20
    /// Resident bytes of the state when all groups train at once (weights + gradients + moments + EMA).
    public var allGroupsStateBytes: Int { parameters * Self.bytesPerTrainedParameter }

    public func json() throws -> String {
        let c = configuration, o = options
        var result: [String: Any] = [
            "geometry": o.geometry.rawValue, "threads": threads, "repeats": o.repeats, "group": o.group,
            "layers": c.layerCount, "groups": c.groups, "layers_per_group": c.layersPerGroup, "width": c.width,
            "query_heads": c.queryHeads, "kv_heads": c.kvHeads, "head_dim": c.headDim, "mlp_width": c.mlpWidth,
            "image_tokens": c.tokenCount, "latent": [c.latentChannels, c.latentHeight, c.latentWidth], "prompt_tokens": o.promptLength,
            "parameters": parameters, "trainable_parameters": trainableParameters,
            "forward_flops_per_sample": flops.forward, "training_flops_per_sample": flops.training,
            "model_resident_bytes": modelResidentBytes, "peak_is_per_batch": peakIsPerBatch,
            "update_seconds_per_parameter": updateSecondsPerParameter, "all_groups_state_bytes": allGroupsStateBytes,
            "includes_backbone_prefill": false,
            "batches": rows.map { r -> [String: Any] in
                ["batch": r.batch, "step_seconds": r.stepSeconds, "gradient_seconds": r.gradientSeconds, "update_seconds": r.updateSeconds,
                 "seconds_per_sample": r.secondsPerSample, "gradient_gflops": gradientGFLOPS(r), "peak_resident_bytes": r.peakResidentBytes,
                 "step_cpu_seconds": r.stepCPUSeconds, "cpu_seconds_per_sample": r.cpuSecondsPerSample,
                 "gflops_per_cpu_second": gflopsPerCPUSecond(r)]
            },
        ]
        if let a = activationBytesPerSample { result["activation_bytes_per_sample"] = a }
        if let e = encoding {
            result["encoding"] = ["autoencoder": "AutoencoderDC dc-ae-f32c32-in-1.0 layout (random)", "image": [3, 256, 256], "batch": e.batch,
                                  "seconds_per_image": e.secondsPerImage, "cpu_seconds_per_image": e.cpuSecondsPerImage, "latent": e.latentShape, "latent_bytes_f32": e.latentBytes,
                                  "encoder_parameters": e.parameters, "peak_resident_bytes": e.peakResidentBytes]
        }
        return try sortedJSON(result)
    }

    public var table: String {
        let c = configuration, o = options
        func gb(_ bytes: Double) -> String { bytes >= 1e9 ? String(format: "%.2f GB", bytes / 1e9) : String(format: "%.1f MB", bytes / 1e6) }
        var lines = [
            "\(o.geometry.rawValue): \(c.layerCount) layers = \(c.groups) groups × \(c.layersPerGroup), width \(c.width), "
                + "\(c.queryHeads)q/\(c.kvHeads)kv heads of \(c.headDim), MLP \(c.mlpWidth), \(c.tokenCount) image tokens "
                + "(\(c.latentChannels)×\(c.latentHeight)×\(c.latentWidth), patch \(c.patchSize)), \(o.promptLength) prompt tokens; \(threads) threads",
            String(format: "parameters %.3f B (one group trainable: %.3f B); FLOPs per sample per expert step: forward %.2f G, training (3×) %.2f G",
                   Double(parameters) / 1e9, Double(trainableParameters) / 1e9, flops.forward / 1e9, flops.training / 1e9),
            "resident after building the model, its optimiser state and the batches: \(gb(Double(modelResidentBytes)))"
                + (peakIsPerBatch ? "" : " (peaks below are the process's: the kernel refused to reset VmHWM)"),
        ]
        for r in rows {
            lines.append(String(format: "batch %3d: %.3f s/step (gradients %.3f, update %.3f) = %.3f s per sample; %.1f GFLOP/s forward+backward; "
                                + "%.3f CPU-s per sample (%.1f GFLOP per CPU-second); peak RSS ",
                                r.batch, r.stepSeconds, r.gradientSeconds, r.updateSeconds, r.secondsPerSample, gradientGFLOPS(r),
                                r.cpuSecondsPerSample, gflopsPerCPUSecond(r))
                         + gb(Double(r.peakResidentBytes)))
        }
        if let a = activationBytesPerSample { lines.append("activations: ~\(gb(a)) resident per extra sample (slope of the peaks)") }
        lines.append(String(format: "update (clip + AdamW + EMA): %.2f ns per trainable parameter; all %d groups trained at once would hold ",
                            updateSecondsPerParameter * 1e9, c.groups) + gb(Double(allGroupsStateBytes)) + " of weights, gradients, moments and EMA")
        if let e = encoding {
            lines.append(String(format: "latent cache: DC-AE f32c32 (random, encoder %.0f M parameters) encodes a 256² image in %.3f s, %.3f CPU-s (batch %d) to ",
                                Double(e.parameters) / 1e6, e.secondsPerImage, e.cpuSecondsPerImage, e.batch)
                         + e.latentShape.map(String.init).joined(separator: "×") + " = \(e.latentBytes) bytes f32; peak RSS " + gb(Double(e.peakResidentBytes)))
        }
        lines.append("the frozen backbone's prefill is not included: it runs once per distinct prompt and is cached for the run")
        return lines.joined(separator: "\n")
    }
}
