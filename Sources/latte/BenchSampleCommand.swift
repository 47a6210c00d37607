import ArgumentParser
import Foundation
import LatteFlow
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// Time per image of the layerwise timestep experts against the vanilla model (K = 1) with the same
/// layers, steps and guidance, measured in one run, with and without the one-time backbone prefill of
/// the prompt and the null prompt. Random generator weights: speed does not depend on them. The same
/// layer stack in PyTorch eager (scripts/bench_sample_torch.py) is measured beside it when Python has torch.
struct BenchSampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Sampling speed: K expert groups against the vanilla model (all layers every step).")

    @Option(help: "Expert groups K.") var groups = 5
    @Option(help: "Layers (the backbone's; SmolLM2 has 30).") var layers = 30
    @Option(help: "Generation width.") var width = 192
    @Option(help: "Sampling steps.") var steps = 40
    @Option(help: "Guidance (1 = none; otherwise a batch of two per image).") var guidance: Float = 3
    @Option(help: "Prompt tokens.") var promptLength = 12
    @Option(help: "Timed repetitions (best is reported).") var repeats = 3
    @Option(help: "Threads.") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false
    @Option(help: "Training batch for the training-throughput measurement.") var trainingBatch = 16
    @Flag(help: "Do not run the PyTorch eager comparison.") var noTorch = false
    @Option(help: "The PyTorch script (default: scripts/bench_sample_torch.py here or in the source tree).") var script: String?
    @Option(help: "Python interpreter for the PyTorch comparison.") var python = "python3"

    func validate() throws {
        guard groups > 0, layers > 0, layers % groups == 0 else {
            throw ValidationError("--layers (\(layers)) must be a positive multiple of --groups (\(groups))")
        }
        guard width > 0, width % 64 == 0, (width / 64) % 3 == 0 else {
            throw ValidationError("--width must be a multiple of 192 (query heads of 64, a multiple of the 3 K/V heads), got \(width)")
        }
        guard steps > 0, repeats > 0, promptLength > 0, trainingBatch > 0 else {
            throw ValidationError("--steps, --repeats, --prompt-length and --training-batch must be positive")
        }
    }

    // SmolLM2-135M geometry: 3 KV heads of 64; 8×8×4 latents with patch 1 → 64 image tokens.
    func config(_ k: Int) -> GeneratorConfiguration {
        GeneratorConfiguration(backbone: "smollm2", layerCount: layers, kvHeads: 3, headDim: 64, width: width,
                               queryHeads: width / 64, mlpWidth: width * 4, groups: k, latentChannels: 4,
                               latentHeight: 8, latentWidth: 8, patchSize: 1, ropeTheta: 100_000)
    }

    /// Forward + backward + AdamW on batches whose times all fall in group 0.
    func trainingSamplesPerSecond(_ c: GeneratorConfiguration) throws -> Double {
        let model = try LayerwiseTimestepExperts(c, seed: 1)
        var g = RandomGenerator(seed: 4)
        for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
        let prompt = PromptCache(keys: (0..<layers).map { _ in Tensor.normal([trainingBatch, 3, promptLength, 64], generator: &g) },
                                 values: (0..<layers).map { _ in Tensor.normal([trainingBatch, 3, promptLength, 64], generator: &g) },
                                 lengths: Array(repeating: promptLength, count: trainingBatch))
        let data = Tensor.normal([trainingBatch, 4, 8, 8], generator: &g), noise = Tensor.normal([trainingBatch, 4, 8, 8], generator: &g)
        let t = (0..<trainingBatch).map { Float($0) / Float(trainingBatch) * c.resolvedBoundaries[1] }
        let arena = model.packParameters()
        let optimizer = AdamW(arena: arena)
        func step() {
            arena.zeroGradients()
            _ = valueAndGradient(model, accumulatingInto: arena) { m in FlowMatchingLoss().loss(m, data: data, noise: noise, t: t, prompt: prompt).loss }
            optimizer.update(learningRate: 1e-4)
        }
        return Double(trainingBatch) / bestTime(repeats: repeats, step)
    }

    /// The SmolLM2 backbone from the asset cache when it is there and has this bench's layer count;
    /// otherwise a random-weight LLaMA of SmolLM2's configuration (prefill speed does not depend on
    /// the weights, only on their storage type, which the description records).
    func backbone() throws -> (LLaMAModel, String) {
        if layers == 30, AssetCache().fileIfPresent(asset: "smollm2") != nil {
            if let model = try Backbone.load("smollm2").model as? LLaMAModel, model.configuration.layerCount == layers {
                return (model, "smollm2 GGUF (Q4_1 weights)")
            }
        }
        let c = LLaMAConfiguration(hiddenSize: 576, intermediateSize: 1536, layerCount: layers, headCount: 9, kvHeadCount: 3,
                                   headDim: 64, vocabularySize: 49152, rmsNormEps: 1e-5, ropeTheta: 100_000, tieWordEmbeddings: true)
        let model = LLaMAModel(configuration: c)
        var g = RandomGenerator(seed: 5)
        for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
        return (model, "random-weight LLaMA with SmolLM2's configuration (fp32)")
    }

    /// Best time of prefilling the conditional prompt and the null prompt through a fresh
    /// `PromptEncoder` (so nothing is served from its cache), and the two caches.
    func prefill(_ lm: LLaMAModel) throws -> (seconds: Double, cond: PromptCache, null: PromptCache) {
        var rng = RandomGenerator(seed: 7)
        // Fixed pseudo-random ids: speed does not depend on the text, and no tokenizer is needed.
        let tokens = (0..<promptLength).map { _ in rng.nextInt(below: lm.configuration.vocabularySize) }
        let nullTokens = [tokens[0]]
        var caches: (PromptCache, PromptCache)!
        let seconds = try bestTime(repeats: repeats) {
            let encoder = PromptEncoder(backbone: lm)
            try encoder.check(config(groups))
            caches = (try encoder.encode(tokens), try encoder.encode(nullTokens))
        }
        return (seconds, caches.0, caches.1)
    }

    func timePerImage(_ k: Int, cond: PromptCache, null: PromptCache) throws -> Double {
        let model = try LayerwiseTimestepExperts(config(k), seed: 1)
        var g = RandomGenerator(seed: 2)
        for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
        let sampler = FlowSampler(model: model, settings: SamplerSettings(steps: steps, guidance: guidance, seed: 3))
        return try bestTime(repeats: repeats) { _ = try sampler.sample(prompt: cond, nullPrompt: null) }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let (lm, backboneName) = try backbone()
        let (prefillSeconds, cond, null) = try prefill(lm)
        let experts = try timePerImage(groups, cond: cond, null: null)
        let vanilla = try timePerImage(1, cond: cond, null: null)
        let trainRate = try trainingSamplesPerSecond(config(groups))
        let torch: (object: [String: Any]?, note: String) = noTorch ? (nil, "--no-torch given") : try runTorch()
        var result: [String: Any] = [
            "groups": groups, "layers": layers, "layers_per_step_experts": layers / groups, "width": width, "steps": steps,
            "guidance": guidance, "image_tokens": 64, "prompt_tokens": promptLength, "threads": Parallel.threadCount,
            "repeats": repeats,
            "seconds_per_image_experts": experts, "seconds_per_image_vanilla": vanilla, "speedup": vanilla / experts,
            "includes_prompt_prefill": false, "training_batch": trainingBatch,
            "training_samples_per_second_one_group": trainRate,
            "prefill_backbone": backboneName, "prefill_seconds": prefillSeconds,
            "seconds_per_image_experts_with_prefill": experts + prefillSeconds,
            "seconds_per_image_vanilla_with_prefill": vanilla + prefillSeconds,
            "speedup_with_prefill": (vanilla + prefillSeconds) / (experts + prefillSeconds),
        ]
        var ratios: [String: Double] = [:]
        if let ref = torch.object {
            result["torch"] = ref
            if let e = ref["seconds_per_image_experts"] as? Double { ratios["experts_seconds"] = experts / e }
            if let v = ref["seconds_per_image_vanilla"] as? Double { ratios["vanilla_seconds"] = vanilla / v }
            // Time per sample, ours over torch's (samples/s inverted), so every ratio reads "< 1 is faster".
            if let r = ref["training_samples_per_second_one_group"] as? Double { ratios["training_seconds_per_sample"] = r / trainRate }
            result["ratio_ours_over_torch"] = ratios
        } else {
            result["torch_skipped"] = torch.note
        }
        if json {
            print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print(String(format: "K=%d: %.3f s/image, vanilla: %.3f s/image, speedup %.2f× (ideal %d×), %d steps, guidance %.1f",
                     groups, experts, vanilla, vanilla / experts, groups, steps, guidance))
        print("prompt prefill (\(promptLength) + 1 tokens, \(backboneName)): " + String(format: "%.3f s; with it K=%d %.3f s/image, vanilla %.3f s/image, speedup %.2f×",
                     prefillSeconds, groups, experts + prefillSeconds, vanilla + prefillSeconds,
                     (vanilla + prefillSeconds) / (experts + prefillSeconds)))
        print(String(format: "training, one group of %d layers, batch %d: %.1f samples/s", layers / groups, trainingBatch, trainRate))
        if let ref = torch.object {
            print("PyTorch eager \(ref["torch_version"] as? String ?? "?"): " + String(format: "K=%d %.3f s/image, vanilla %.3f s/image, training %.1f samples/s",
                         groups, ref["seconds_per_image_experts"] as? Double ?? .nan,
                         ref["seconds_per_image_vanilla"] as? Double ?? .nan, ref["training_samples_per_second_one_group"] as? Double ?? .nan))
            print(String(format: "ours / torch time: K=%d %.2f, vanilla %.2f, training %.2f (< 1: we are faster)", groups,
                         ratios["experts_seconds"] ?? .nan, ratios["vanilla_seconds"] ?? .nan, ratios["training_seconds_per_sample"] ?? .nan))
        } else {
            print("PyTorch: skipped (\(torch.note))")
        }
    }

    /// Runs the PyTorch script with this bench's sizes; nil object and a note saying why when skipped.
    func runTorch() throws -> (object: [String: Any]?, note: String) {
        guard let path = scriptPath() else {
            return (nil, "scripts/bench_sample_torch.py not found; run from the repository root or pass --script")
        }
        func python(_ args: [String], capture: Bool) -> (status: Int32, output: Data)? {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            p.arguments = [self.python] + args
            let out = Pipe()
            p.standardOutput = capture ? out : FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            do { try p.run() } catch { return nil }
            let data = capture ? out.fileHandleForReading.readDataToEndOfFile() : Data()
            p.waitUntilExit()
            return (p.terminationStatus, data)
        }
        guard let probe = python(["-c", "import torch"], capture: false), probe.status == 0 else {
            return (nil, "\(self.python) cannot import torch")
        }
        let args = [path, "--groups", "\(groups)", "--layers", "\(layers)", "--width", "\(width)", "--mlp-width", "\(width * 4)",
                    "--steps", "\(steps)", "--guidance", "\(guidance)", "--prompt-length", "\(promptLength)",
                    "--repeats", "\(repeats)", "--threads", "\(Parallel.threadCount)", "--training-batch", "\(trainingBatch)"]
        guard let run = python(args, capture: true), run.status == 0,
              let object = try? JSONSerialization.jsonObject(with: run.output) as? [String: Any] else {
            return (nil, "\(path) failed (run it by hand to see why)")
        }
        return (object, "")
    }

    /// --script, else scripts/bench_sample_torch.py under the current directory, else in the source tree
    /// this binary was built from.
    func scriptPath() -> String? {
        if let script { return FileManager.default.fileExists(atPath: script) ? script : nil }
        let relative = "scripts/bench_sample_torch.py"
        if FileManager.default.fileExists(atPath: relative) { return relative }
        let tree = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(relative).path
        return FileManager.default.fileExists(atPath: tree) ? tree : nil
    }
}
