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
public struct SampleBenchmark {
    public struct Options: Sendable {
        /// Expert groups K.
        public var groups: Int
        /// Layers (the backbone's; SmolLM2 has 30).
        public var layers: Int
        /// Generation width.
        public var width: Int
        public var steps: Int
        /// 1 = none; otherwise a batch of two per image.
        public var guidance: Float
        public var promptLength: Int
        /// Timed repetitions (best is reported).
        public var repeats: Int
        public var threads: Int?
        /// Batch of the training-throughput measurement.
        public var trainingBatch: Int
        /// Do not run the PyTorch eager comparison.
        public var skipTorch: Bool
        /// The PyTorch script; nil: scripts/bench_sample_torch.py here or in the source tree.
        public var script: String?
        public var python: String

        public init(groups: Int = 5, layers: Int = 30, width: Int = 192, steps: Int = 40, guidance: Float = 3,
                    promptLength: Int = 12, repeats: Int = 3, threads: Int? = nil, trainingBatch: Int = 16,
                    skipTorch: Bool = false, script: String? = nil, python: String = "python3") {
            self.groups = groups
            self.layers = layers
            self.width = width
            self.steps = steps
            self.guidance = guidance
            self.promptLength = promptLength
            self.repeats = repeats
            self.threads = threads
            self.trainingBatch = trainingBatch
            self.skipTorch = skipTorch
            self.script = script
            self.python = python
        }

        public func validate() throws {
            guard groups > 0, layers > 0, layers % groups == 0 else {
                throw BenchmarkOptionError("--layers (\(layers)) must be a positive multiple of --groups (\(groups))")
            }
            guard width > 0, width % 64 == 0, (width / 64) % 3 == 0 else {
                throw BenchmarkOptionError("--width must be a multiple of 192 (query heads of 64, a multiple of the 3 K/V heads), got \(width)")
            }
            guard steps > 0, repeats > 0, promptLength > 0, trainingBatch > 0 else {
                throw BenchmarkOptionError("--steps, --repeats, --prompt-length and --training-batch must be positive")
            }
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    public func run() throws -> SampleResult {
        if let threads = options.threads { Parallel.threadCount = threads }
        let (lm, backboneName) = try backbone()
        let (prefillSeconds, cond, null) = try prefill(lm)
        let experts = try timePerImage(options.groups, cond: cond, null: null)
        let vanilla = try timePerImage(1, cond: cond, null: null)
        let trainRate = try trainingSamplesPerSecond(config(options.groups))
        let torch: (object: [String: Any]?, note: String) = options.skipTorch ? (nil, "--no-torch given") : runTorch()
        return SampleResult(options: options, threads: Parallel.threadCount, secondsPerImageExperts: experts,
                            secondsPerImageVanilla: vanilla, trainingSamplesPerSecond: trainRate, prefillBackbone: backboneName,
                            prefillSeconds: prefillSeconds, torch: torch.object, torchSkipped: torch.note)
    }

    // SmolLM2-135M geometry: 3 KV heads of 64; 8×8×4 latents with patch 1 → 64 image tokens.
    func config(_ k: Int) -> GeneratorConfiguration {
        GeneratorConfiguration(backbone: "smollm2", layerCount: options.layers, kvHeads: 3, headDim: 64, width: options.width,
                               queryHeads: options.width / 64, mlpWidth: options.width * 4, groups: k, latentChannels: 4,
                               latentHeight: 8, latentWidth: 8, patchSize: 1, ropeTheta: 100_000)
    }

    /// Forward + backward + AdamW on batches whose times all fall in group 0.
    func trainingSamplesPerSecond(_ c: GeneratorConfiguration) throws -> Double {
        let (layers, batch, promptLength) = (options.layers, options.trainingBatch, options.promptLength)
        let model = try LayerwiseTimestepExperts(c, seed: 1)
        var g = RandomGenerator(seed: 4)
        for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
        let prompt = PromptCache(keys: (0..<layers).map { _ in Tensor.normal([batch, 3, promptLength, 64], generator: &g) },
                                 values: (0..<layers).map { _ in Tensor.normal([batch, 3, promptLength, 64], generator: &g) },
                                 lengths: Array(repeating: promptLength, count: batch))
        let data = Tensor.normal([batch, 4, 8, 8], generator: &g), noise = Tensor.normal([batch, 4, 8, 8], generator: &g)
        let t = (0..<batch).map { Float($0) / Float(batch) * c.resolvedBoundaries[1] }
        let arena = model.packParameters()
        let optimizer = AdamW(arena: arena)
        func step() {
            arena.zeroGradients()
            _ = valueAndGradient(model, accumulatingInto: arena) { m in FlowMatchingLoss().loss(m, data: data, noise: noise, t: t, prompt: prompt).loss }
            optimizer.update(learningRate: 1e-4)
        }
        return Double(batch) / bestTime(repeats: options.repeats, step)
    }

    /// The SmolLM2 backbone from the asset cache when it is there and has this bench's layer count;
    /// otherwise a random-weight LLaMA of SmolLM2's configuration (prefill speed does not depend on
    /// the weights, only on their storage type, which the description records).
    func backbone() throws -> (LLaMAModel, String) {
        let layers = options.layers
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
        let tokens = (0..<options.promptLength).map { _ in rng.nextInt(below: lm.configuration.vocabularySize) }
        let nullTokens = [tokens[0]]
        var caches: (PromptCache, PromptCache)!
        let seconds = try bestTime(repeats: options.repeats) {
            let encoder = PromptEncoder(backbone: lm)
            try encoder.check(config(options.groups))
            caches = (try encoder.encode(tokens), try encoder.encode(nullTokens))
        }
        return (seconds, caches.0, caches.1)
    }

    func timePerImage(_ k: Int, cond: PromptCache, null: PromptCache) throws -> Double {
        let model = try LayerwiseTimestepExperts(config(k), seed: 1)
        var g = RandomGenerator(seed: 2)
        for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
        model.packLinearWeightsForInference()   // as `latte generate` samples
        let sampler = FlowSampler(model: model, settings: SamplerSettings(steps: options.steps, guidance: options.guidance, seed: 3))
        return try bestTime(repeats: options.repeats) { _ = try sampler.sample(prompt: cond, nullPrompt: null) }
    }

    /// Runs the PyTorch script with this bench's sizes; nil object and a note saying why when skipped.
    func runTorch() -> (object: [String: Any]?, note: String) {
        let o = options
        guard let path = scriptPath() else {
            return (nil, "scripts/bench_sample_torch.py not found; run from the repository root or pass --script")
        }
        guard let probe = runReferenceScript(python: o.python, ["-c", "import torch"], captureOutput: false), probe.status == 0 else {
            return (nil, "\(o.python) cannot import torch")
        }
        let args = [path, "--groups", "\(o.groups)", "--layers", "\(o.layers)", "--width", "\(o.width)", "--mlp-width", "\(o.width * 4)",
                    "--steps", "\(o.steps)", "--guidance", "\(o.guidance)", "--prompt-length", "\(o.promptLength)",
                    "--repeats", "\(o.repeats)", "--threads", "\(Parallel.threadCount)", "--training-batch", "\(o.trainingBatch)"]
        guard let run = runReferenceScript(python: o.python, args), run.status == 0,
              let object = try? JSONSerialization.jsonObject(with: run.output) as? [String: Any] else {
            return (nil, "\(path) failed (run it by hand to see why)")
        }
        return (object, "")
    }

    /// `script`, else scripts/bench_sample_torch.py under the current directory, else in the source tree
    /// this library was built from (Sources/LatteBenchmarks/ is two levels below the root).
    func scriptPath() -> String? {
        if let script = options.script { return FileManager.default.fileExists(atPath: script) ? script : nil }
        let relative = "scripts/bench_sample_torch.py"
        if FileManager.default.fileExists(atPath: relative) { return relative }
        let tree = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(relative).path
        return FileManager.default.fileExists(atPath: tree) ? tree : nil
    }
}
