import Foundation

/// One `SampleBenchmark` run: seconds per image with K expert groups and with the vanilla model, the
/// one-time prompt prefill, training throughput, and PyTorch eager's numbers when it ran.
public struct SampleResult {
    public let options: SampleBenchmark.Options
    /// The thread count in effect.
    public let threads: Int
    public let secondsPerImageExperts: Double
    public let secondsPerImageVanilla: Double
    /// Forward + backward + AdamW with one group of layers.
    public let trainingSamplesPerSecond: Double
    /// Which backbone prefilled the prompts (the real SmolLM2 or a random-weight stand-in).
    public let prefillBackbone: String
    public let prefillSeconds: Double
    /// scripts/bench_sample_torch.py's JSON object, as it printed it; nil when skipped.
    public let torch: [String: Any]?
    /// Why PyTorch was skipped ("" when it ran).
    public let torchSkipped: String

    public var speedup: Double { secondsPerImageVanilla / secondsPerImageExperts }
    public var speedupWithPrefill: Double { (secondsPerImageVanilla + prefillSeconds) / (secondsPerImageExperts + prefillSeconds) }

    /// Ours over torch's, every ratio reading "< 1: we are faster": time per image for both models,
    /// and time per training sample (samples/s inverted). Empty without PyTorch.
    public var ratiosOverTorch: [String: Double] {
        guard let ref = torch else { return [:] }
        var ratios: [String: Double] = [:]
        if let e = ref["seconds_per_image_experts"] as? Double { ratios["experts_seconds"] = secondsPerImageExperts / e }
        if let v = ref["seconds_per_image_vanilla"] as? Double { ratios["vanilla_seconds"] = secondsPerImageVanilla / v }
        if let r = ref["training_samples_per_second_one_group"] as? Double { ratios["training_seconds_per_sample"] = r / trainingSamplesPerSecond }
        return ratios
    }

    /// One JSON object with sorted keys.
    public func json() throws -> String {
        let o = options, experts = secondsPerImageExperts, vanilla = secondsPerImageVanilla
        var result: [String: Any] = [
            "groups": o.groups, "layers": o.layers, "layers_per_step_experts": o.layers / o.groups, "width": o.width, "steps": o.steps,
            "guidance": o.guidance, "image_tokens": 64, "prompt_tokens": o.promptLength, "threads": threads,
            "repeats": o.repeats,
            "seconds_per_image_experts": experts, "seconds_per_image_vanilla": vanilla, "speedup": speedup,
            "includes_prompt_prefill": false, "training_batch": o.trainingBatch,
            "training_samples_per_second_one_group": trainingSamplesPerSecond,
            "prefill_backbone": prefillBackbone, "prefill_seconds": prefillSeconds,
            "seconds_per_image_experts_with_prefill": experts + prefillSeconds,
            "seconds_per_image_vanilla_with_prefill": vanilla + prefillSeconds,
            "speedup_with_prefill": speedupWithPrefill,
        ]
        if let torch {
            result["torch"] = torch
            result["ratio_ours_over_torch"] = ratiosOverTorch
        } else {
            result["torch_skipped"] = torchSkipped
        }
        return try sortedJSON(result)
    }

    public var table: String {
        let o = options, experts = secondsPerImageExperts, vanilla = secondsPerImageVanilla
        var lines = [
            String(format: "K=%d: %.3f s/image, vanilla: %.3f s/image, speedup %.2f× (ideal %d×), %d steps, guidance %.1f",
                   o.groups, experts, vanilla, speedup, o.groups, o.steps, o.guidance),
            "prompt prefill (\(o.promptLength) + 1 tokens, \(prefillBackbone)): "
                + String(format: "%.3f s; with it K=%d %.3f s/image, vanilla %.3f s/image, speedup %.2f×",
                         prefillSeconds, o.groups, experts + prefillSeconds, vanilla + prefillSeconds, speedupWithPrefill),
            String(format: "training, one group of %d layers, batch %d: %.1f samples/s", o.layers / o.groups, o.trainingBatch,
                   trainingSamplesPerSecond),
        ]
        if let ref = torch {
            let ratios = ratiosOverTorch
            lines.append("PyTorch eager \(ref["torch_version"] as? String ?? "?"): "
                + String(format: "K=%d %.3f s/image, vanilla %.3f s/image, training %.1f samples/s",
                         o.groups, ref["seconds_per_image_experts"] as? Double ?? .nan,
                         ref["seconds_per_image_vanilla"] as? Double ?? .nan, ref["training_samples_per_second_one_group"] as? Double ?? .nan))
            lines.append(String(format: "ours / torch time: K=%d %.2f, vanilla %.2f, training %.2f (< 1: we are faster)", o.groups,
                                ratios["experts_seconds"] ?? .nan, ratios["vanilla_seconds"] ?? .nan,
                                ratios["training_seconds_per_sample"] ?? .nan))
        } else {
            lines.append("PyTorch: skipped (\(torchSkipped))")
        }
        return lines.joined(separator: "\n")
    }
}
