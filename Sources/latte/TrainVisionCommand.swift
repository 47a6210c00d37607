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
/// tokens only — in the project's one training loop (`TrainingRun`: AdamW with warm-up and cosine
/// decay, EMA, the non-finite guard, atomic checkpoints, resume, `log.jsonl`, progress). Each checkpoint
/// exports the EMA projector with its `vision.json` to `--output`; at the end the held-out questions are
/// answered by greedy decoding and scored (`eval.json` in the run folder).
struct TrainVisionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train-vision", abstract: "Train the image-token projector of the default model's vision path on Fashion-MNIST questions.")

    @Option(help: "Folder for checkpoints, log.jsonl, the loss curve and eval.json; an existing checkpoint there is resumed.") var runDir = "runs/vision"
    @Option(help: "Where vision.json and vision.safetensors (the EMA projector) are written.") var output = "runs/vision/model"
    @Option(help: "Backbone (a pinned asset or a GGUF file): the frozen language model.") var backbone = "smollm2"
    @Option(help: "Training images: the first N of Fashion-MNIST's training split.") var trainImages = 60_000
    @Option(help: "Held-out images scored at the end: the first N of the test split (0: none).") var evalImages = 500
    @Option(help: "Encoder input size (images are resized to N×N).") var inputSize = 64
    @Option(help: "Image tokens per side: the encoder map is pooled to grid × grid tokens.") var grid = 2
    @Option(help: "Optimisation steps.") var steps = 2000
    @Option(help: "Samples (question–answer pairs) per step.") var batch = 8
    @Option(help: "Peak learning rate.") var lr: Float = 1e-3
    @Option(help: "Warm-up steps.") var warmup = 50
    @Option(help: "Checkpoint (and export) every N steps.") var checkpointEvery = 100
    @Option(help: "Seed (projector weights, phrasings, data order).") var seed: UInt64 = 0
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Start over even if the run folder holds a checkpoint.") var restart = false

    func validate() throws {
        if trainImages < 1 || trainImages > 60_000 { throw ValidationError("--train-images must be 1…60000") }
        if evalImages < 0 || evalImages > 10_000 { throw ValidationError("--eval-images must be 0…10000") }
        if grid < 1 || grid > 4 { throw ValidationError("--grid must be 1…4") }
        if inputSize < 32 { throw ValidationError("--input-size must be at least 32") }
        if steps < 1 || batch < 1 { throw ValidationError("--steps and --batch must be at least 1") }
        if !(lr > 0) { throw ValidationError("--lr must be positive") }
    }

    /// Images [N, 1, 28, 28] in [0, 1] and labels: the first `count` of a Fashion-MNIST split.
    static func fashion(split: IDXDataset.Split, count: Int) throws -> (images: Tensor, labels: [Int]) {
        let dataset = try ImageDataSource.dataset("fashion-mnist", split: split)
        let n = min(count, dataset.count)
        var pixels: [Float] = []
        var labels: [Int] = []
        pixels.reserveCapacity(n * 784)
        for i in 0..<n {
            let item = try dataset.item(at: i)
            pixels += item.image.pixels.map { Float($0) / 255 }
            labels.append(item.label)
        }
        let first = try dataset.item(at: 0).image
        return (Tensor(pixels, shape: [n, first.channels, first.height, first.width]), labels)
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let started = Date()
        let runURL = URL(fileURLWithPath: runDir), outputURL = URL(fileURLWithPath: output)
        let loaded = try Backbone.load(backbone, assets: .fetchIfMissing(log: say))
        guard let lm = loaded.model as? LLaMAModel else { throw CommandFailure("--backbone \(backbone) is not a LLaMA-family model (the vision path trains on SmolLM2)") }
        let encoder = try EfficientNetLite.load(inputSize: inputSize, log: say)
        let cache = try VisionFeatureCache(encoder: encoder, grid: grid)

        let train = try Self.fashion(split: .train, count: trainImages)
        say("encoding \(train.labels.count) training images (EfficientNet-Lite0 at \(inputSize), \(grid)×\(grid) tokens; cached once)")
        var progress = TrainingProgress(total: train.labels.count, startingAt: 0, label: "encode")
        let features = try cache.tokens(of: train.images, log: say) { done, _ in progress.update(step: done, fields: []) }
        let tokensPerImage = grid * grid
        let samples = try VisionQuestions.fashion(labels: train.labels, seed: seed).map {
            VisionTrainingSample(prompt: try VisionPrompt.build(tokenizer: loaded.tokenizer, question: $0.question, answer: $0.answer,
                                                                tokensPerImage: tokensPerImage), feature: $0.image)
        }
        var g = RandomGenerator(seed: seed)
        let projector = ImageTokenProjector(encoderChannels: EfficientNetLite.featureChannels, width: lm.configuration.hiddenSize, generator: &g)
        let settings = VisionTrainingSettings(steps: steps, batchSize: batch, learningRate: lr, warmupSteps: warmup, seed: seed)
        let trainer = try VisionTrainer(lm: lm, projector: projector, features: features, samples: samples, settings: settings)
        let configuration = VisionModelConfiguration(inputSize: inputSize, grid: grid, encoderChannels: EfficientNetLite.featureChannels,
                                                     width: lm.configuration.hiddenSize, backbone: backbone)
        let sorted = JSONEncoder()
        sorted.outputFormatting = [.sortedKeys]
        let identity = "settings=\(String(decoding: try sorted.encode(settings), as: UTF8.self)) vision=\(String(decoding: try sorted.encode(configuration), as: UTF8.self)) images=\(train.labels.count)"
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(
            directory: runURL, steps: steps, checkpointEvery: checkpointEvery, restart: restart, progressLabel: "train-vision",
            identity: identity), report: say)
        say("training the projector (\(projector.parameterCount()) parameters) on \(samples.count) questions about \(train.labels.count) images: \(steps) steps × \(batch), \(Parallel.threadCount) threads")
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
            print(String(format: "training: %.2f samples/s over %d logged steps (%d threads)", Double(batch * seconds.count) / seconds.reduce(0, +),
                         seconds.count, Parallel.threadCount))
        }
        if evalImages > 0 {
            trainer.ema.swapWithParameters()
            defer { trainer.ema.swapWithParameters() }
            let test = try Self.fashion(split: .test, count: evalImages)
            let testFeatures = try cache.tokens(of: test.images, log: say)
            let answerer = VisionAnswerer(lm: lm, projector: projector, tokenizer: loaded.tokenizer)
            let result = try VisionEvaluation.fashion(answerer: answerer, tokens: testFeatures, labels: test.labels, seed: seed &+ 1) { done, total in
                if done % 50 == 0 || done == total { say("evaluated \(done)/\(total) held-out questions") }
            }
            try result.write(to: runURL.appendingPathComponent("eval.json"))
            for (task, score) in result.tasks.sorted(by: { $0.key < $1.key }) {
                print(String(format: "%@: %.1f %% of %d held-out questions (chance %.1f %%)", task, score.accuracy * 100, score.count, score.chance * 100))
            }
            for e in result.examples.prefix(6) { print("  Q: \(e.question)  A: \(e.answer)  [\(e.correct ? "right" : "wrong"), label \(e.label)]") }
        }
        print(String(format: "model: %@  loss curve: %@  log: %@  (%.0f s)", outputURL.path, curve.path, logURL.path, Date().timeIntervalSince(started)))
    }
}
