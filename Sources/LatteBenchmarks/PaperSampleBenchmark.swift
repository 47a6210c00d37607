import Foundation
import LatteFlow
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte bench sample --config paper`: one 256² image end to end at the paper's geometry, with random
/// weights (speed does not depend on their values): Qwen2-VL-2B's text model prefills a short prompt
/// and the null prompt, a generator of the same geometry (K = 4 groups × 7 layers, width 1536, 12 query
/// / 2 K/V heads of 128, MLP 8960, M-RoPE) takes `steps` guided Euler steps on DC-AE f32c32 latents
/// (32 × 8 × 8), and the DC-AE decoder makes the image. Reported per phase (prefill, generator steps,
/// decode) at each batch size, with the resident-memory peak of each phase; the vanilla model (all 28
/// layers every step) beside the experts; and the generator's matrices in f32, bf16 and row-wise int8.
///
/// Phases run one after another and each model is released before the next is built, so the peak is
/// the largest phase's, not their sum (the f32 backbone alone is ~6 GB, the generator ~5 GB).
/// Costly runs are timed on fewer steps and extrapolated (every step of a group costs the same; the
/// result says which figures are extrapolated and from how many steps).
public struct PaperSampleBenchmark {
    public struct Options: Sendable {
        /// Images per batch, each measured separately (the same prompt, one seed per image).
        public var batchSizes: [Int]
        public var steps: Int
        public var guidance: Float
        public var promptLength: Int
        /// Steps actually run for the vanilla model and the bf16 / int8 variants, extrapolated to `steps`.
        public var shortSteps: Int
        /// Steps actually run for the experts at batch sizes above 1 (batch 1 always runs all `steps`).
        public var batchedSteps: Int
        public var threads: Int?
        /// Also time the weight variants (bf16, row-wise int8) of the generator's matrices.
        public var weightVariants: Bool
        /// Run scripts/bench_paper_torch.py after our side has released its models.
        public var torch: Bool
        public var script: String?
        public var python: String
        /// A scaled-down geometry (the same code paths) for tests and quick checks.
        public var tiny: Bool

        public init(batchSizes: [Int] = [1, 4], steps: Int = 40, guidance: Float = 4.5, promptLength: Int = 12, shortSteps: Int = 8,
                    batchedSteps: Int = 40, threads: Int? = nil, weightVariants: Bool = true, torch: Bool = false,
                    script: String? = nil, python: String = "python3", tiny: Bool = false) {
            self.batchSizes = batchSizes
            self.steps = steps
            self.guidance = guidance
            self.promptLength = promptLength
            self.shortSteps = shortSteps
            self.batchedSteps = batchedSteps
            self.threads = threads
            self.weightVariants = weightVariants
            self.torch = torch
            self.script = script
            self.python = python
            self.tiny = tiny
        }

        public func validate() throws {
            guard !batchSizes.isEmpty, batchSizes.allSatisfy({ $0 > 0 }) else {
                throw BenchmarkOptionError("--batch needs one or more positive batch sizes, got \(batchSizes)")
            }
            guard steps > 0, promptLength > 0, shortSteps > 0, batchedSteps > 0 else {
                throw BenchmarkOptionError("--steps, --prompt-length, --short-steps and --batched-steps must be positive")
            }
            guard shortSteps <= steps, batchedSteps <= steps else {
                throw BenchmarkOptionError("--short-steps (\(shortSteps)) and --batched-steps (\(batchedSteps)) cannot exceed --steps (\(steps))")
            }
            guard !weightVariants || batchSizes.contains(1) else {
                throw BenchmarkOptionError("the weight variants are compared with f32 at batch 1: --batch must include 1 (or pass --no-variants)")
            }
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    /// Qwen2-VL-2B's text model (tied embeddings, vocabulary 151936, rope theta 1e6, M-RoPE [16, 24, 24]);
    /// the vision tower keeps its one-element placeholders: a text prompt never runs it. `tiny`: 4 layers
    /// of width 256 (2 heads of 128, 1 K/V head), vocabulary 1024, the same code paths.
    public static func backboneConfiguration(tiny: Bool) -> Qwen2VLConfiguration {
        let text = tiny
            ? Qwen2VLTextConfiguration(hiddenSize: 256, intermediateSize: 512, layerCount: 4, headCount: 2, kvHeadCount: 1, vocabularySize: 1024)
            : Qwen2VLTextConfiguration(hiddenSize: 1536, intermediateSize: 8960, layerCount: 28, headCount: 12, kvHeadCount: 2, vocabularySize: 151_936)
        let vision = Qwen2VLVisionConfiguration(depth: tiny ? 1 : 32, embedDim: tiny ? 64 : 1280, hiddenSize: text.hiddenSize,
                                                headCount: tiny ? 2 : 16)
        return Qwen2VLConfiguration(text: text, vision: vision, tieWordEmbeddings: true)
    }

    /// The generator of the backbone's geometry: K = 4 (tiny: 2) groups, width and MLP the backbone's,
    /// on DC-AE f32c32 latents at 256² (32 × 8 × 8, patch 1 → 64 image tokens).
    public static func generatorConfiguration(tiny: Bool) -> GeneratorConfiguration {
        let t = backboneConfiguration(tiny: tiny).text
        let geometry = BackboneGeometry(layerCount: t.layerCount, kvHeads: t.kvHeadCount, headDim: t.headDim, ropeTheta: t.ropeTheta,
                                        mropeSections: t.mropeSection)
        return try! GeneratorConfiguration(backbone: "qwen2-vl-2b (random)", geometry: geometry, latentShape: [32, 8, 8],
                                           shape: GeneratorShape(groups: tiny ? 2 : 4, width: t.hiddenSize, mlpWidth: t.intermediateSize,
                                                                 queryHeads: t.headCount))
    }

    /// The autoencoder: diffusers' dc-ae-f32c32-in-1.0 layout (tiny: 64 channels at the top, same stages).
    public static func autoencoderConfiguration(tiny: Bool) -> AutoencoderDCConfiguration {
        var c = TrainBenchmark.dcAEf32c32
        if tiny { c.decoderBlockOutChannels = [8, 16, 32, 32, 64, 64]; c.encoderBlockOutChannels = c.decoderBlockOutChannels
                  c.decoderLayersPerBlock = [0, 1, 1, 1, 1, 1]; c.encoderLayersPerBlock = c.decoderLayersPerBlock }
        return c
    }

    public func run(report: (String) -> Void = { _ in }) throws -> PaperSampleResult {
        try options.validate()
        if let threads = options.threads { Parallel.threadCount = threads }
        let resetWorks = ResidentMemory.resetPeak()
        var result = PaperSampleResult(options: options, threads: Parallel.threadCount, peakIsPerPhase: resetWorks)

        // 1. The backbone: prefill the prompt and the null prompt (once for every batch size: the
        //    images of a batch share the prompt, as `latte generate --count N` does).
        report("building the random Qwen2-VL-2B text model…")
        let (cond, null) = try measurePrefill(into: &result)

        // 2. The generator in f32: experts and vanilla at every batch size; velocities for the variants.
        report("building the random generator (f32)…")
        let probes = try measureGenerator(cond: cond, null: null, into: &result, report: report)

        // 3. The decoder, on the latents the experts made.
        report("building the random DC-AE f32c32…")
        try measureDecode(probes.latents, into: &result, report: report)

        // 4. The generator's matrices as bf16 and as row-wise int8 (rebuilt from the same seed each time).
        if options.weightVariants {
            for variant in [PaperSampleResult.WeightVariant.bf16, .int8Rowwise] {
                report("generator with \(variant.rawValue) matrices…")
                result.variants.append(try measureVariant(variant, probes: probes, cond: cond, null: null))
            }
        }
        result.processPeakBytes = ResidentMemory.peakBytes() ?? 0

        // 5. PyTorch eager, only now: our models are released, so the two never hold memory together.
        if options.torch {
            report("running the PyTorch eager reference…")
            result.torch = runTorch()
        }
        return result
    }

    // MARK: Phases

    func measurePrefill(into result: inout PaperSampleResult) throws -> (PromptCache, PromptCache) {
        ResidentMemory.resetPeak()
        let c = Self.backboneConfiguration(tiny: options.tiny)
        let lm = Self.randomBackbone(c)
        result.backboneParameters = lm.model.parameterCount()
        var rng = RandomGenerator(seed: 7)
        // <|im_start|> then pseudo-random ids: speed does not depend on the text, and no tokenizer is needed.
        let start = options.tiny ? 1 : 151_644
        let tokens = [start] + (1..<options.promptLength).map { _ in rng.nextInt(below: min(c.text.vocabularySize, 150_000)) }
        var caches: (PromptCache, PromptCache)!
        let config = Self.generatorConfiguration(tiny: options.tiny)
        result.prefillSeconds = try bestTime(repeats: 2) {
            let encoder = PromptEncoder(backbone: lm)   // fresh: nothing served from its cache
            try encoder.check(config)
            caches = (try encoder.encode(tokens), try encoder.encode([start]))
        }
        result.prefillPeakBytes = ResidentMemory.peakBytes() ?? 0
        return caches
    }

    /// Random generator of the paper's geometry: the same seeds always give the same weights, so the
    /// variants start from exactly the f32 model's values.
    func randomGenerator() throws -> LayerwiseTimestepExperts {
        let model = try LayerwiseTimestepExperts(Self.generatorConfiguration(tiny: options.tiny), seed: 1)
        // Zero-initialised gates and heads would make parts of the network trivially zero; randomise all.
        var g = RandomGenerator(seed: 2)
        for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
        return model
    }

    /// What the f32 generator leaves for the later phases: final latents per batch size (for the
    /// decoder) and reference velocities on fixed inputs (for the variants).
    struct Probes {
        var latents: [Int: Tensor] = [:]
        var input: Tensor
        var velocities: [Tensor] = []
        var f32StepSeconds: Double = 0
    }

    /// Fixed inputs, one per group at the middle of its interval: the largest change over all of them.
    func probeVelocities(_ model: LayerwiseTimestepExperts, input: Tensor, prompt: PromptCache) -> [Tensor] {
        let c = model.configuration, b = c.resolvedBoundaries
        return (0..<c.groups).map { k in
            withoutGradient { model.velocity(input, t: [(b[k] + b[k + 1]) / 2], prompt: prompt, group: k) }
        }
    }

    func measureGenerator(cond: PromptCache, null: PromptCache, into result: inout PaperSampleResult,
                          report: (String) -> Void) throws -> Probes {
        ResidentMemory.resetPeak()
        let before = ResidentMemory.currentBytes() ?? 0
        let model = try randomGenerator()
        result.generatorParameters = model.parameterCount()
        // As `latte generate` samples: every weight matrix packed for the GEMM once (the same results
        // bit for bit; the packed copy replaces the weight, so memory does not grow).
        model.packLinearWeightsForInference()
        result.generatorResidentBytes = (ResidentMemory.currentBytes() ?? 0) - before
        var probes = Probes(input: Tensor.randomNormal([1, 32, 8, 8], seed: 11))
        probes.velocities = probeVelocities(model, input: probes.input, prompt: cond)
        try warmUp(model, cond: cond, null: null)
        for n in options.batchSizes {
            let ran = n == 1 ? options.steps : options.batchedSteps
            report("experts, batch \(n): \(ran) steps…")
            let (seconds, latents) = try timeSampling(model, batch: n, steps: ran, routing: .owning, cond: cond, null: null)
            probes.latents[n] = latents
            let full = seconds * Double(options.steps) / Double(ran)
            if n == 1 { probes.f32StepSeconds = full }
            report("vanilla, batch \(n): \(options.shortSteps) steps…")
            let (vanilla, _) = try timeSampling(model, batch: n, steps: options.shortSteps, routing: .allLayers, cond: cond, null: null)
            result.rows.append(.init(batch: n, expertsStepSeconds: full, expertsStepsRun: ran,
                                     vanillaStepSeconds: vanilla * Double(options.steps) / Double(options.shortSteps)))
        }
        result.generatorPeakBytes = ResidentMemory.peakBytes() ?? 0
        return probes
    }

    /// One guided step, untimed: first-touch of the weights' pages and the thread pool's start.
    func warmUp(_ model: LayerwiseTimestepExperts, cond: PromptCache, null: PromptCache) throws {
        let sampler = FlowSampler(model: model, settings: SamplerSettings(steps: 1, guidance: options.guidance, seed: 3))
        _ = try sampler.sample(prompt: cond, nullPrompt: null)
    }

    /// Wall seconds of one sampling run of `steps` steps at batch `n` (the time grid of `steps`: each
    /// group owns the same share of it), and its final latents.
    func timeSampling(_ model: LayerwiseTimestepExperts, batch n: Int, steps: Int, routing: ExpertRouting,
                      cond: PromptCache, null: PromptCache) throws -> (Double, Tensor) {
        let sampler = FlowSampler(model: model, settings: SamplerSettings(steps: steps, guidance: options.guidance, seed: 3), routing: routing)
        let prompt = n == 1 ? cond : PromptCache.stack(Array(repeating: cond, count: n))
        let noise = Tensor.randomNormal([n, 32, 8, 8], seed: 100 + UInt64(n))
        let start = seconds(on: CLOCK_MONOTONIC)
        let latents = try sampler.sample(prompt: prompt, nullPrompt: null, noise: noise)
        return (seconds(on: CLOCK_MONOTONIC) - start, latents)
    }

    func measureDecode(_ latents: [Int: Tensor], into result: inout PaperSampleResult, report: (String) -> Void) throws {
        ResidentMemory.resetPeak()
        let dc = try AutoencoderDC(Self.autoencoderConfiguration(tiny: options.tiny), seed: 4)
        let autoencoder: any LatentAutoencoder = dc
        result.decoderParameters = dc.decoder.parameterCount()
        _ = withoutGradient { autoencoder.decodeScaled(latents[options.batchSizes[0]]!) }   // warm-up
        for n in options.batchSizes {
            report("decoding batch \(n)…")
            let z = latents[n]!
            try autoencoder.validateLatents(z)
            let start = seconds(on: CLOCK_MONOTONIC)
            let images = withoutGradient { autoencoder.decodeScaled(z) }
            result.decodeSeconds[n] = seconds(on: CLOCK_MONOTONIC) - start
            result.imageShape = Array(images.shape.dropFirst())
        }
        result.decodePeakBytes = ResidentMemory.peakBytes() ?? 0
    }

    func measureVariant(_ variant: PaperSampleResult.WeightVariant, probes: Probes, cond: PromptCache,
                        null: PromptCache) throws -> PaperSampleResult.VariantRow {
        ResidentMemory.resetPeak()
        let before = ResidentMemory.currentBytes() ?? 0
        let model = try randomGenerator()
        var matrixBytes = 0
        for case let (_, linear as Linear) in model.namedModules() where linear.weight.value.count >= Int8RowwiseWeights.minimumElements {
            let w = linear.weight.value
            switch variant {
            case .f32:
                matrixBytes += w.count * 4
            case .bf16:
                // Kept bf16 in memory; `Tensor.linear` widens it to a float32 copy on each call.
                linear.weight.assign(w.to(.bfloat16))
                matrixBytes += w.count * 2
            case .int8Rowwise:
                // What `latte convert-weights --dtype int8` writes and the loader reads back: the values a
                // row-wise int8 file holds, expanded to float32 in memory (the loader has no int8 kernel).
                let file = Int8RowwiseWeights.quantize(["w": w])
                matrixBytes += w.count + w.dim(0) * 2
                linear.weight.assign(try Int8RowwiseWeights.dequantize(file, file: "memory")["w"]!)
            }
        }
        // f32 and int8 (expanded to f32) matrices are packed as the loader's callers pack them; bf16 stays bf16.
        model.packLinearWeightsForInference()
        let resident = (ResidentMemory.currentBytes() ?? 0) - before
        let velocities = probeVelocities(model, input: probes.input, prompt: cond)
        var largest: Float = 0, scale: Float = 0
        for (v, ref) in zip(velocities, probes.velocities) {
            largest = max(largest, Self.largestMagnitude(v - ref))
            scale = max(scale, Self.largestMagnitude(ref))
        }
        try warmUp(model, cond: cond, null: null)
        let (seconds, _) = try timeSampling(model, batch: 1, steps: options.shortSteps, routing: .owning, cond: cond, null: null)
        return .init(variant: variant, matrixBytes: matrixBytes, residentBytes: resident,
                     stepSeconds: seconds * Double(options.steps) / Double(options.shortSteps),
                     secondsOverF32: seconds * Double(options.steps) / Double(options.shortSteps) / probes.f32StepSeconds,
                     largestVelocityChange: Double(largest), largestF32Velocity: Double(scale),
                     peakBytes: ResidentMemory.peakBytes() ?? 0)
    }

    static func largestMagnitude(_ t: Tensor) -> Float {
        t.toFloat32().contiguous().toArray().reduce(0) { max($0, abs($1)) }
    }

    /// Random text model: N(0, 0.02) matrices, embeddings and biases, RMSNorm weights of 1.
    static func randomBackbone(_ c: Qwen2VLConfiguration) -> Qwen2VLModel {
        let lm = Qwen2VLModel(configuration: c)
        var g = RandomGenerator(seed: 5)
        for (name, p) in lm.namedParameters() where name.hasPrefix("model.") {
            p.assign(name.hasSuffix("norm.weight") ? Tensor.ones(p.value.shape) : Tensor.normal(p.value.shape, std: 0.02, generator: &g))
        }
        return lm
    }

    // MARK: PyTorch

    /// scripts/bench_paper_torch.py with this run's sizes; its JSON object, or a note saying why not.
    func runTorch() -> PaperSampleResult.Torch {
        let o = options
        guard let path = ScriptLocator.find("scripts/bench_paper_torch.py", given: o.script) else {
            return .skipped("scripts/bench_paper_torch.py not found; run from the repository root or pass --script")
        }
        guard let probe = runReferenceScript(python: o.python, ["-c", "import torch, transformers, diffusers"], captureOutput: false),
              probe.status == 0 else {
            return .skipped("\(o.python) cannot import torch, transformers and diffusers (pip install transformers diffusers)")
        }
        var args = [path, "--steps", "\(o.steps)", "--short-steps", "\(o.shortSteps)", "--batched-steps", "\(o.batchedSteps)",
                    "--guidance", "\(o.guidance)", "--prompt-length", "\(o.promptLength)", "--threads", "\(Parallel.threadCount)",
                    "--batch", o.batchSizes.map(String.init).joined(separator: ",")]
        if o.tiny { args.append("--tiny") }
        guard let run = runReferenceScript(python: o.python, args, captureErrors: true) else { return .skipped("\(o.python) did not start") }
        guard run.status == 0, let object = try? JSONSerialization.jsonObject(with: run.output) as? [String: Any] else {
            let tail = String(decoding: run.errorOutput.suffix(600), as: UTF8.self)
            return .skipped("\(path) failed (status \(run.status)): \(tail)")
        }
        return .ran(object)
    }
}

/// A script beside the sources: `given` if set, else `relative` under the current directory, else in
/// the source tree this library was built from (Sources/LatteBenchmarks/ is two levels below the root).
enum ScriptLocator {
    static func find(_ relative: String, given: String?, file: String = #filePath) -> String? {
        if let given { return FileManager.default.fileExists(atPath: given) ? given : nil }
        if FileManager.default.fileExists(atPath: relative) { return relative }
        let tree = URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(relative).path
        return FileManager.default.fileExists(atPath: tree) ? tree : nil
    }
}
