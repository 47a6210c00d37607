import ArgumentParser
import Foundation
import LatteEval
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte train-vision`: trains the vision path's projector (docs/vision.md) — frozen EfficientNet-Lite0
/// tokens (cached once per image set, `VisionFeatureCache`) into the frozen SmolLM2, loss on the answer
/// tokens only, on Fashion-MNIST, digit and emoji questions mixed by `--digit-repeats` / `--emoji-repeats` — in the project's one training loop (`TrainingRun`: AdamW with warm-up and cosine
/// decay, EMA, the non-finite guard, atomic checkpoints, resume, `log.jsonl`, progress). Each checkpoint
/// exports the EMA projector with its `vision.json` to `--output`; at the end the held-out questions are
/// answered by greedy decoding and scored (`eval.json` in the run folder).
struct TrainVisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-vision", abstract: "Train the image-token projector of the default model's vision path on Fashion-MNIST, digit and emoji questions.")

    @Option(help: "Folder for checkpoints, log.jsonl, the loss curve and eval.json; an existing checkpoint there is resumed.") var runDir = "runs/vision"
    @Option(help: "Where vision.json and vision.safetensors (the EMA projector) are written.") var output = "runs/vision/model"
    @Option(help: "Backbone (a pinned asset or a GGUF file): the frozen language model.") var backbone = "smollm2"
    @Option(help: "Training images: the first N of Fashion-MNIST's training split.") var trainImages = 60_000
    @Option(help: "Visits per training digit (MNIST-5k's 4,500 training rows) in one pass; 0: no digits.") var digitRepeats = 2
    @Option(help: "Visits per training emoji picture (5,244) in one pass; 0: no emoji.") var emojiRepeats = 3
    @Option(help: "Question–answer turns per sample (one image, loss on every answer; the first turn is the one-question layout).") var turns = 1
    @Option(help: "Held-out images scored at the end, per set (Fashion-MNIST test, held-out digits, held-out emoji; 0: none).") var evalImages = 500
    @Option(help: "Encoder input size (images are resized to N×N).") var inputSize = 128
    @Option(help: "Image tokens per side: the encoder map is pooled to grid × grid tokens.") var grid = 4
    @Option(help: "Passes over the samples (one pass: every Fashion-MNIST image once, every digit and emoji picture its repeats); --steps overrides.") var epochs = 1.0
    @Option(help: "Optimisation steps (default: from --epochs).") var steps: Int?
    @Option(help: "Samples per step.") var batch = 8
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Warm-up steps.") var warmup = 100
    @Option(help: "Decay of the exported exponential moving average of the projector (0.999 for long runs).") var emaDecay: Float = 0.99
    @Option(help: "Checkpoint (and export) every N steps.") var checkpointEvery = 100
    @Option(help: "Seed (projector weights, phrasings, data order).") var seed: UInt64 = 0
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Start over even if the run folder holds a checkpoint.") var restart = false
    @Option(help: "Start the projector from a trained folder's vision weights (vision.json + vision.safetensors, the same input size, grid and width) instead of random ones: a run continues an earlier one with a schedule of its own.")
    var initFrom: String?

    func validate() throws {
        if trainImages < 1 || trainImages > 60_000 { throw ValidationError("--train-images must be 1…60000") }
        if evalImages < 0 || evalImages > 10_000 { throw ValidationError("--eval-images must be 0…10000") }
        if grid < 1 || grid > 8 { throw ValidationError("--grid must be 1…8") }
        if inputSize < 32 { throw ValidationError("--input-size must be at least 32") }
        if (steps ?? 1) < 1 || batch < 1 { throw ValidationError("--steps and --batch must be at least 1") }
        if !(epochs > 0) { throw ValidationError("--epochs must be positive") }
        if turns < 1 || turns > 3 { throw ValidationError("--turns must be 1…3 (each image has at most three questions)") }
        if digitRepeats < 0 || emojiRepeats < 0 { throw ValidationError("--digit-repeats and --emoji-repeats must be 0 or more") }
        if !(lr > 0) { throw ValidationError("--lr must be positive") }
        if !(emaDecay >= 0 && emaDecay < 1) { throw ValidationError("--ema-decay must be in [0, 1)") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let started = Date()
        let runURL = URL(fileURLWithPath: runDir), outputURL = URL(fileURLWithPath: output)
        let loaded = try Backbone.load(backbone, assets: .fetchIfMissing(log: say))
        guard let lm = loaded.model as? LLaMAModel else { throw CommandFailure("--backbone \(backbone) is not a LLaMA-family model (the vision path trains on SmolLM2)") }
        let encoder = try EfficientNetLite.load(inputSize: inputSize, log: say)
        let cache = try VisionFeatureCache(encoder: encoder, grid: grid)
        let tokensPerImage = grid * grid

        // The image sets, encoded once (float16 in memory), and one pass's samples: each Fashion-MNIST image
        // once, each digit and emoji picture its repeats, each visit `turns` of the image's questions.
        var featureSets: [Tensor] = []
        var visits: [(source: Int, turns: [VisionExample])] = []
        var mix: [String] = []
        func encode(_ name: String, _ images: Tensor) throws -> Tensor {
            say("encoding \(images.shape[0]) \(name) images (EfficientNet-Lite0 at \(inputSize), \(grid)×\(grid) tokens; cached once)")
            var progress = TrainingProgress(total: images.shape[0], startingAt: 0, label: "encode \(name)")
            return try cache.tokens(of: images, half: true, log: say) { done, _ in progress.update(step: done, fields: []) }
        }
        func add(_ name: String, features: Tensor, count: Int, repeats: Int, examples: (Int) -> [VisionExample]) {
            let source = featureSets.count
            featureSets.append(features)
            let v = VisionData.visits(of: examples(0), images: count, repeats: repeats, turns: turns, seed: seed &+ UInt64(source), examplesFor: examples)
            visits += v.map { (source: source, turns: $0) }
            mix.append("\(name) \(v.count)")
        }
        do {
            let fashion = try VisionData.fashion(split: .train, count: trainImages)
            add("fashion", features: try encode("Fashion-MNIST", fashion.images), count: fashion.labels.count, repeats: 1) {
                VisionQuestions.fashion(labels: fashion.labels, seed: seed &+ UInt64($0))
            }
        }
        if digitRepeats > 0 {
            let digits = try VisionData.digits(split: .train)
            add("digits", features: try encode("digit", digits.images), count: digits.labels.count, repeats: digitRepeats) {
                VisionQuestions.digits(labels: digits.labels, seed: seed &+ UInt64($0))
            }
        }
        if emojiRepeats > 0 {
            let emoji = try VisionData.emoji(split: .train)
            add("emoji", features: try encode("emoji", emoji.images), count: emoji.facts.count, repeats: emojiRepeats) {
                VisionQuestions.emoji(emoji.facts, seed: seed &+ UInt64($0))
            }
        }
        let samples = try visits.map { v in
            VisionTrainingSample(prompt: try VisionPrompt.build(tokenizer: loaded.tokenizer, turns: v.turns.map { (question: $0.question, answer: $0.answer) },
                                                                tokensPerImage: tokensPerImage), feature: v.turns[0].image, source: v.source)
        }
        let answers = samples.reduce(0) { $0 + $1.prompt.answerRanges.count }
        let totalSteps = steps ?? max(1, Int((Double(samples.count) * epochs / Double(batch)).rounded(.up)))
        var g = RandomGenerator(seed: seed)
        let projector = ImageTokenProjector(encoderChannels: EfficientNetLite.featureChannels, width: lm.configuration.hiddenSize, generator: &g)
        var startedFrom = ""
        if let initFrom {
            try startProjector(projector, from: URL(fileURLWithPath: initFrom), width: lm.configuration.hiddenSize)
            startedFrom = " init=\(initFrom)"
            say("projector initialised from \(initFrom)")
        }
        let settings = VisionTrainingSettings(steps: totalSteps, batchSize: batch, learningRate: lr, warmupSteps: warmup, emaDecay: emaDecay, seed: seed)
        let trainer = try VisionTrainer(lm: lm, projector: projector, featureSets: featureSets, samples: samples, settings: settings)
        let configuration = VisionModelConfiguration(inputSize: inputSize, grid: grid, encoderChannels: EfficientNetLite.featureChannels,
                                                     width: lm.configuration.hiddenSize, backbone: backbone)
        let sorted = JSONEncoder()
        sorted.outputFormatting = [.sortedKeys]
        let identity = "settings=\(String(decoding: try sorted.encode(settings), as: UTF8.self)) vision=\(String(decoding: try sorted.encode(configuration), as: UTF8.self)) mix=\(mix.joined(separator: ",")) turns=\(turns)\(startedFrom)"
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(
            directory: runURL, steps: totalSteps, checkpointEvery: checkpointEvery, restart: restart, progressLabel: "train-vision",
            identity: identity), report: say)
        say("training the projector (\(projector.parameterCount()) parameters) on \(samples.count) samples per pass (\(mix.joined(separator: ", ")); \(answers) answers, \(turns) turn\(turns == 1 ? "" : "s") per sample at most): \(totalSteps) steps × \(batch), \(Parallel.threadCount) threads")
        let export: (Int) throws -> Void = { _ in
            trainer.ema.swapWithParameters()
            defer { trainer.ema.swapWithParameters() }
            try configuration.save(projector: projector, to: outputURL)
        }
        try run.run(export: export)
        let logURL = run.logURL!
        let curve = runURL.appendingPathComponent("loss.png")
        try LossCurvePlot.write([.init(name: "loss", points: TrainingLog.series(in: logURL, x: "step", y: "loss"))], to: curve.path)
        let seconds = TrainingLog.series(in: logURL, x: "step", y: "seconds").map { Double($0.1) }
        if !seconds.isEmpty {
            let perSample = Double(answers) / Double(samples.count)
            print(String(format: "training: %.2f samples/s, %.2f answers/s over %d logged steps (%d threads, %d turns)", Double(batch * seconds.count) / seconds.reduce(0, +),
                         perSample * Double(batch * seconds.count) / seconds.reduce(0, +), seconds.count, Parallel.threadCount, turns))
        }
        if evalImages > 0 {
            trainer.ema.swapWithParameters()
            defer { trainer.ema.swapWithParameters() }
            let answerer = VisionAnswerer(lm: lm, projector: projector, tokenizer: loaded.tokenizer)
            var sets: Set<String> = ["fashion"]
            if digitRepeats > 0 { sets.insert("digits") }
            if emojiRepeats > 0 { sets.insert("emoji") }
            var parts: [VisionEvaluation] = []
            for set in try VisionData.heldOut(cache: cache, images: evalImages, seed: seed &+ 1, sets: sets, log: say) {
                parts.append(try VisionEvaluation.evaluate(answerer: answerer, tokens: set.tokens, questions: set.questions) { done, total in
                    if done % 50 == 0 || done == total { say("evaluated \(done)/\(total) held-out \(set.name) questions") }
                })
            }
            let result = VisionEvaluation.merged(parts)
            try result.write(to: runURL.appendingPathComponent("eval.json"))
            for (task, score) in result.tasks.sorted(by: { $0.key < $1.key }) {
                print(String(format: "%@: %.1f %% of %d held-out questions (majority baseline %.1f %%)", task, score.accuracy * 100, score.count, score.chance * 100))
            }
            for e in result.examples.prefix(6) { print("  Q: \(e.question)  A: \(e.answer)  [\(e.correct ? "right" : "wrong"), expected \(e.expected)]") }
        }
        print(String(format: "model: %@  loss curve: %@  log: %@  (%.0f s)", outputURL.path, curve.path, logURL.path, Date().timeIntervalSince(started)))
    }

    /// Copies a trained folder's projector weights into `projector`, refusing a folder made for another
    /// input size, grid, encoder or LM width (its tokens would mean something else).
    private func startProjector(_ projector: ImageTokenProjector, from folder: URL, width: Int) throws {
        guard VisionModelConfiguration.present(in: folder) else {
            throw CommandFailure("--init-from \(folder.path): no \(VisionModelConfiguration.fileName) (a folder written by `latte train-vision --output`)")
        }
        let (c, trained) = try VisionModelConfiguration.load(folder: folder)
        guard c.inputSize == inputSize, c.grid == grid, c.width == width, c.encoderChannels == EfficientNetLite.featureChannels else {
            throw CommandFailure("--init-from \(folder.path): trained for input size \(c.inputSize), grid \(c.grid), width \(c.width), \(c.encoderChannels) encoder channels; this run uses \(inputSize), \(grid), \(width), \(EfficientNetLite.featureChannels)")
        }
        try projector.update(parameters: Dictionary(uniqueKeysWithValues: trained.namedParameters().map { ($0.0, $0.1.value) }), strict: true)
    }
}
