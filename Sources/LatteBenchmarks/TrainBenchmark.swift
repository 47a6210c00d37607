import Foundation
import LatteFlow
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// Cost of one training step of one timestep expert — forward, backward and the AdamW update of that
/// group, through the real `GeneratorTrainer` (condition dropout, `FlowMatchingLoss`) in `TrainingRun`
/// (gradient clipping, AdamW, EMA) — per sample, at several batch sizes, with the resident-memory
/// peak of each. Random generator weights and random prompt keys/values: speed does not depend on
/// their values. The frozen backbone is absent on purpose: its prefill runs once per distinct prompt
/// (class phrases, captions) and is cached for the whole run, so it is not part of the per-step cost.
///
/// `paper` is Qwen2-VL-2B's geometry on a DC-AE f32c32 latent at 256² (8×8 tokens of 32 channels,
/// patch 1), K = 4 groups of 7 layers, generation width = the backbone's; `small` is the embedded
/// default model's (SmolLM2-135M, K = 5 × 6 layers, width 128, 8×8×8 latents). Optionally also the
/// one-time cost of a latent cache: encoding 256² images with a random DC-AE of the f32c32 "in-1.0" layout.
public struct TrainBenchmark {
    public enum Geometry: String, CaseIterable, Sendable {
        case paper, small

        /// `--config`'s value, with the command line's message for anything else.
        public init(parsing text: String) throws {
            guard let g = Geometry(rawValue: text) else { throw BenchmarkOptionError("--config must be paper or small, got '\(text)'") }
            self = g
        }
    }

    /// `--batch`'s comma-separated batch sizes ("1,4,8").
    public static func batchSizes(parsing text: String) throws -> [Int] {
        let sizes = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !sizes.isEmpty, sizes.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw BenchmarkOptionError("--batch wants comma-separated positive integers, e.g. 1,4,8, got '\(text)'")
        }
        return sizes.map { $0! }
    }

    public struct Options: Sendable {
        public var geometry: Geometry
        /// Batch sizes measured, each in its own run of warm-up + `repeats` steps.
        public var batchSizes: [Int]
        /// Prompt tokens of every row's cache (the null prompt of dropped rows is 1 token, padded).
        public var promptLength: Int
        /// The expert group that steps (t drawn from its interval; the others frozen, as `--train-groups`).
        public var group: Int
        /// Timed steps per batch size after one warm-up step; the best is reported.
        public var repeats: Int
        public var threads: Int?
        /// Also time encoding 256² images with a random DC-AE f32c32 (the latent cache's cost).
        public var encode: Bool
        public var encodeBatch: Int

        public init(geometry: Geometry = .paper, batchSizes: [Int] = [1, 4, 8], promptLength: Int = 24, group: Int = 0,
                    repeats: Int = 2, threads: Int? = nil, encode: Bool = true, encodeBatch: Int = 1) {
            self.geometry = geometry
            self.batchSizes = batchSizes
            self.promptLength = promptLength
            self.group = group
            self.repeats = repeats
            self.threads = threads
            self.encode = encode
            self.encodeBatch = encodeBatch
        }

        public func validate() throws {
            guard !batchSizes.isEmpty, batchSizes.allSatisfy({ $0 > 0 }) else {
                throw BenchmarkOptionError("--batch needs one or more positive batch sizes, got \(batchSizes)")
            }
            guard promptLength > 0, repeats > 0, encodeBatch > 0 else {
                throw BenchmarkOptionError("--prompt-length, --repeats and --encode-batch must be positive")
            }
            let groups = TrainBenchmark.configuration(geometry).groups
            guard (0..<groups).contains(group) else {
                throw BenchmarkOptionError("--group \(group) does not exist: the \(geometry.rawValue) geometry has groups 0…\(groups - 1)")
            }
        }
    }

    public let options: Options
    public init(_ options: Options) { self.options = options }

    /// The generator `latte train` would build for the geometry's backbone and latents.
    public static func configuration(_ geometry: Geometry) -> GeneratorConfiguration {
        switch geometry {
        case .paper:
            // Qwen2-VL-2B: 28 layers, 2 K/V heads of 128, rope theta 1e6; width 1536, 12 query heads,
            // MLP 8960 (the backbone's own, so copy-initialisation fits); DC-AE f32c32 at 256² → 32×8×8.
            let geometry = BackboneGeometry(layerCount: 28, kvHeads: 2, headDim: 128, ropeTheta: 1_000_000)
            return try! GeneratorConfiguration(backbone: "qwen2-vl-2b (random)", geometry: geometry, latentShape: [32, 8, 8],
                                               shape: GeneratorShape(groups: 4, width: 1536, mlpWidth: 8960, queryHeads: 12))
        case .small:
            // SmolLM2-135M: 30 layers, 3 K/V heads of 64, rope theta 1e5; latte train's default shape on
            // the default autoencoder's 8×8×8 latents (models/latteflow-fashion/generator.json).
            let geometry = BackboneGeometry(layerCount: 30, kvHeads: 3, headDim: 64, ropeTheta: 100_000)
            return try! GeneratorConfiguration(backbone: "smollm2 (random)", geometry: geometry, latentShape: [8, 8, 8],
                                               shape: GeneratorShape())
        }
    }

    /// diffusers' `dc-ae-f32c32-in-1.0` layout (the ImageNet DC-AE: 256² RGB → 32×8×8), random weights.
    public static var dcAEf32c32: AutoencoderDCConfiguration {
        var c = AutoencoderDCConfiguration()
        c.inChannels = 3; c.latentChannels = 32; c.attentionHeadDim = 32
        c.encoderBlockOutChannels = [128, 256, 512, 512, 1024, 1024]; c.decoderBlockOutChannels = c.encoderBlockOutChannels
        c.encoderBlockTypes = .each(["ResBlock", "ResBlock", "ResBlock", "EfficientViTBlock", "EfficientViTBlock", "EfficientViTBlock"])
        c.decoderBlockTypes = c.encoderBlockTypes
        c.encoderLayersPerBlock = [0, 4, 8, 2, 2, 2]; c.decoderLayersPerBlock = [0, 5, 10, 2, 2, 2]
        c.encoderQkvMultiscales = Array(repeating: [], count: 6); c.decoderQkvMultiscales = c.encoderQkvMultiscales
        c.decoderNormTypes = .each(["batch_norm", "batch_norm", "batch_norm", "rms_norm", "rms_norm", "rms_norm"])
        c.decoderActFns = .each(["relu", "relu", "relu", "silu", "silu", "silu"])
        c.downsampleBlockType = "pixel_unshuffle"; c.upsampleBlockType = "pixel_shuffle"
        c.decoderConvActFn = "relu"
        return c
    }

    public func run(report: (String) -> Void = { _ in }) throws -> TrainResult {
        try options.validate()
        if let threads = options.threads { Parallel.threadCount = threads }
        let c = Self.configuration(options.geometry)
        // The generator and its optimiser state are released before the encoder is built, so the
        // encoding's peak is its own.
        let steps = try measureSteps(c, report: report)
        var encoding: TrainResult.Encoding? = nil
        if options.encode {
            report("encoding \(options.encodeBatch) 256² image(s) with a random DC-AE f32c32…")
            encoding = try measureEncoding()
        }
        return TrainResult(options: options, configuration: c, threads: Parallel.threadCount,
                           flops: ExpertStepFLOPs(c, promptLength: options.promptLength), parameters: steps.parameters,
                           trainableParameters: steps.trainable, modelResidentBytes: steps.modelBytes,
                           peakIsPerBatch: steps.resetWorks, rows: steps.rows, encoding: encoding)
    }

    /// Builds the generator (group `options.group` trainable) and times its steps at each batch size.
    func measureSteps(_ c: GeneratorConfiguration, report: (String) -> Void) throws
        -> (rows: [TrainResult.BatchRow], parameters: Int, trainable: Int, modelBytes: Int, resetWorks: Bool) {
        let resetWorks = ResidentMemory.resetPeak()
        let before = ResidentMemory.currentBytes() ?? 0
        report("building a random \(options.geometry.rawValue) generator (\(c.layerCount) layers, width \(c.width), \(c.groups) groups)…")
        let model = try LayerwiseTimestepExperts(c, seed: 1)
        // Zero-initialised gates and heads would make parts of the backward trivially zero; randomise all.
        var g = RandomGenerator(seed: 2)
        for (_, p) in model.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.02, generator: &g)) }
        try model.trainOnly(groups: [options.group])
        let (lower, upper) = try c.timeInterval(groups: [options.group])
        let batches = FixedBatches(c, rows: options.batchSizes.max()!, promptLength: options.promptLength, generator: &g)
        let settings = TrainingSettings(steps: options.repeats + 1, warmupSteps: 0, timesteps: .uniformWithin(lower: lower, upper: upper), seed: 3)
        let trainer = TimedTrainer(GeneratorTrainer(model: model, settings: settings, nullPrompt: batches.nullPrompt, data: batches))
        let modelBytes = (ResidentMemory.currentBytes() ?? 0) - before

        var rows: [TrainResult.BatchRow] = []
        for b in options.batchSizes {
            report("batch \(b): 1 warm-up + \(options.repeats) timed steps…")
            batches.size = b
            ResidentMemory.resetPeak()
            trainer.gradientSeconds = []
            var stepSeconds: [Double] = []
            // Process CPU time at each step's end: on a loaded machine the wall time grows with the other
            // processes' share of the cores, the CPU time much less.
            var cpuMarks = [seconds(on: CLOCK_PROCESS_CPUTIME_ID)]
            let run = try TrainingRun(trainer: trainer, options: .init(directory: nil, steps: options.repeats + 1, checkpointEvery: 0))
            try run.run(onStep: {
                stepSeconds.append($0.seconds)
                cpuMarks.append(seconds(on: CLOCK_PROCESS_CPUTIME_ID))
            })
            let cpuSeconds = zip(cpuMarks.dropFirst(), cpuMarks).map { $0 - $1 }
            // Best of the timed steps (the first step is the warm-up: it also touches the optimiser's pages).
            let timed = (1..<stepSeconds.count).map { (wall: stepSeconds[$0], gradient: trainer.gradientSeconds[$0], cpu: cpuSeconds[$0]) }
            let best = timed.min { $0.wall < $1.wall }!
            rows.append(TrainResult.BatchRow(batch: b, stepSeconds: best.wall, gradientSeconds: best.gradient,
                                             stepCPUSeconds: timed.map(\.cpu).min()!, peakResidentBytes: ResidentMemory.peakBytes() ?? 0))
        }
        return (rows, model.parameterCount(), model.parameterCount(trainableOnly: true), modelBytes, resetWorks)
    }

    /// Seconds per 256² image of `encodeScaled` with the f32c32 DC-AE (random weights), best of the
    /// repeats after one warm-up, and the resident peak while encoding.
    func measureEncoding() throws -> TrainResult.Encoding {
        let dc = try AutoencoderDC(Self.dcAEf32c32, seed: 4)
        let autoencoder: any LatentAutoencoder = dc
        let images = Tensor.randomNormal([options.encodeBatch, 3, 256, 256], seed: 5, std: 0.5)
        try autoencoder.validateImages(images)
        ResidentMemory.resetPeak()
        var shape: [Int] = []
        var wall = Double.infinity, cpu = Double.infinity
        for i in 0...options.repeats {   // run 0 is the warm-up
            let (w0, c0) = (seconds(on: CLOCK_MONOTONIC), seconds(on: CLOCK_PROCESS_CPUTIME_ID))
            shape = withoutGradient { autoencoder.encodeScaled(images) }.shape
            if i > 0 {
                wall = min(wall, seconds(on: CLOCK_MONOTONIC) - w0)
                cpu = min(cpu, seconds(on: CLOCK_PROCESS_CPUTIME_ID) - c0)
            }
        }
        let n = Double(options.encodeBatch)
        return TrainResult.Encoding(batch: options.encodeBatch, secondsPerImage: wall / n, cpuSecondsPerImage: cpu / n,
                                    latentShape: Array(shape.dropFirst()), parameters: dc.encoder.parameterCount(),
                                    peakResidentBytes: ResidentMemory.peakBytes() ?? 0)
    }
}

/// The same rows every step: random latents and one random one-row prompt cache per row, of which the
/// first `size` are served (the size changes between measured runs).
final class FixedBatches: GeneratorTrainingData {
    let latents: Tensor
    let prompts: [PromptCache]
    let nullPrompt: PromptCache
    var size: Int

    init(_ c: GeneratorConfiguration, rows: Int, promptLength: Int, generator g: inout RandomGenerator) {
        latents = Tensor.normal([rows, c.latentChannels, c.latentHeight, c.latentWidth], generator: &g)
        func cache(_ length: Int, _ g: inout RandomGenerator) -> PromptCache {
            let kv = (0..<2 * c.layerCount).map { _ in Tensor.normal([1, c.kvHeads, length, c.headDim], generator: &g) }
            return PromptCache(keys: Array(kv[..<c.layerCount]), values: Array(kv[c.layerCount...]), lengths: [length])
        }
        prompts = (0..<rows).map { _ in cache(promptLength, &g) }
        nullPrompt = cache(1, &g)
        size = rows
    }

    func next() throws -> (latents: Tensor, prompts: [PromptCache]) {
        (latents.sliced(axis: 0, 0..<size).contiguous(), Array(prompts[..<size]))
    }
    func savedState() throws -> String { "" }
    func restore(_ state: String) throws {}
}

/// `GeneratorTrainer` with the time of each `computeGradients` (forward + backward) recorded, so a
/// step's time splits into gradients and update.
final class TimedTrainer: StepTrainer {
    let inner: GeneratorTrainer
    var gradientSeconds: [Double] = []

    init(_ inner: GeneratorTrainer) { self.inner = inner }

    var update: ParameterUpdate { inner.update }
    func computeGradients() throws -> StepLoss {
        let start = DispatchTime.now().uptimeNanoseconds
        defer { gradientSeconds.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9) }
        return try inner.computeGradients()
    }
    func checkpointState() throws -> [String: String] { try inner.checkpointState() }
    func restore(checkpointState: [String: String]) throws { try inner.restore(checkpointState: checkpointState) }
}
