import Foundation
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte train-like` as a library call: fine-tunes a class-conditional Fashion-MNIST model's generator to
/// read image prompts (docs/vision.md, "Understand, then generate"), keeping its text prompts.
///
/// 1. The model folder gives the generator to start from, its autoencoder, class phrases and guide; the
///    vision folder the frozen projector (`vision.json` + its safetensors), which the export carries.
/// 2. Targets: the Fashion-MNIST training set's latents (`LatentCache`, as `latte train` makes them).
/// 3. Prompts: a pool of prompt images (the first N training images of each class) as image prompts
///    through the frozen backbone and projector (`ImagePromptEncoder`, prefilled once:
///    `PromptTable.prefillImages`), and the class phrases (`PromptTable.prefill`); `ImagePromptPairs`
///    pairs each target with another image of its class, or keeps text on a share of the steps.
/// 4. The one training loop (`TrainingRun`) runs `GeneratorTrainer` (flow-matching loss on the target's
///    latent, condition dropout to the null prompt); backbone, projector and autoencoder stay frozen
///    (none is in the arena). Each checkpoint exports the model folder with model.json's `image_prompts`.
///
/// The pool's encoder tokens come from `encodeImages` (the caller's frozen image encoder, e.g.
/// EfficientNet-Lite0 through `VisionFeatureCache`): images [N, 1, 28, 28] in [0, 1] → [N, T, C].
public enum ImagePromptTraining {
    public struct Result {
        public let output: URL
        public let lossCurve: URL
        public let log: URL
    }

    public static func run(_ o: ImagePromptTrainingOptions, assets: AssetPolicy = .requirePresent,
                           encodeImages: (Tensor) throws -> Tensor, report: @escaping (String) -> Void) throws -> Result {
        try o.validate()
        try FileManager.default.createDirectory(at: o.runDirectory, withIntermediateDirectories: true)

        // 1. The model to fine-tune, the vision weights, the frozen backbone.
        let manifest = try TextToImageManifest.load(directory: o.model)
        guard manifest.classNames == IDXDataset.fashionMNISTClasses, let phrasesOfClass = manifest.classPhrases else {
            throw TrainingError(message: "--model \(o.model.path): train-like fine-tunes a class-conditional Fashion-MNIST model (model.json must name the ten Fashion-MNIST classes and their phrases)")
        }
        let visionFolder = o.vision ?? o.model
        guard VisionModelConfiguration.present(in: visionFolder) else {
            throw TrainingError(message: "\(visionFolder.path) has no vision weights (\(VisionModelConfiguration.fileName) + vision.safetensors): train them with `latte train-vision --output \(visionFolder.path)`, or name a folder that has them with --vision DIR")
        }
        let (vision, projector) = try VisionModelConfiguration.load(folder: visionFolder)
        let visionWeights = visionFolder.appendingPathComponent(vision.weights)
        let visionDigest = try SHA256.hash(fileAt: visionWeights.path)
        let loaded = try Backbone.load(manifest.backbone, assets: assets)
        guard let lm = loaded.model as? LLaMAModel else {
            throw TrainingError(message: "the backbone \(manifest.backbone) is not a LLaMA-family model: image prompts need the vision path's SmolLM2")
        }
        let prompts = try ImagePromptEncoder(lm: lm, projector: projector, tokenizer: loaded.tokenizer, tokensPerImage: vision.tokensPerImage,
                                             instruction: o.instruction)
        let model = try TextToImagePipeline.loadGenerator(directory: o.model)
        let guide = try manifest.guideGenerator.flatMap { c in
            try manifest.guideWeights.map { try TextToImagePipeline.loadGenerator(configuration: o.model.appendingPathComponent(c), weights: o.model.appendingPathComponent($0)) }
        }
        let autoencoderFolder = o.model.appendingPathComponent(manifest.autoencoder)
        let vae = try loadAutoencoder(directory: autoencoderFolder)
        let encoder = PromptEncoder(backbone: loaded.promptBackbone)
        try encoder.check(model.configuration)

        // 2. Targets: the training set's latents.
        var dataset: any Dataset = try ImageDataSource.dataset("fashion-mnist", split: .train)
        if let limit = o.limit { dataset = try DatasetPrefix(base: dataset, count: Swift.min(limit, dataset.count)) }
        var image = ImagePreparation.fashionMNIST
        image.pad = manifest.crop
        image.channels = vae.imageChannels
        let latents = try LatentCache.open(encoder: LatentEncoder(vae, folder: autoencoderFolder), dataset: dataset, preparation: image,
                                           directory: o.latents ?? o.runDirectory.appendingPathComponent("latents"), report: report)
        guard latents.itemShape == [model.configuration.latentChannels, model.configuration.latentHeight, model.configuration.latentWidth] else {
            throw TrainingError(message: "the latents are \(latents.itemShape), the generator of \(o.model.path) draws \([model.configuration.latentChannels, model.configuration.latentHeight, model.configuration.latentWidth])")
        }
        let items = latents.datasetIndices
        let labels = try items.map { try dataset.annotation(at: $0).label }

        // 3. Prompts: the pool of prompt images (the first N of each class among the targets) and the class phrases.
        var pool: [Int] = [], taken = [Int](repeating: 0, count: phrasesOfClass.count)
        for (item, label) in zip(items, labels) where taken[label] < o.promptImagesPerClass {
            pool.append(item)
            taken[label] += 1
        }
        let poolLabels = try pool.map { try dataset.annotation(at: $0).label }
        report("prompt images: \(pool.count) (\(taken.map(String.init).joined(separator: "/")) per class), encoded by the frozen image encoder")
        let tokens = try encodeImages(try pixels(of: pool, in: dataset))
        guard tokens.shape == [pool.count, vision.tokensPerImage, vision.encoderChannels] else {
            throw TrainingError(message: "the image encoder gave tokens \(tokens.shape), vision.json expects [\(pool.count), \(vision.tokensPerImage), \(vision.encoderChannels)]")
        }
        let imageTable = try PromptTable.prefillImages(tokens: tokens, encoder: prompts, backboneName: manifest.backbone, projectorDigest: visionDigest,
                                                       file: o.runDirectory.appendingPathComponent("image-prompts.f16"),
                                                       memoryBudget: o.promptCacheMemory, report: report)
        let textTokens = try PromptTokens(tokenizer: loaded.tokenizer, startToken: manifest.promptStartToken)
        let textTable = try PromptTable.prefill(texts: phrasesOfClass.flatMap { $0 }, tokens: textTokens, backbone: loaded.promptBackbone,
                                                backboneName: manifest.backbone, file: o.runDirectory.appendingPathComponent("prompt-caches.f16"),
                                                memoryBudget: o.promptCacheMemory, report: report)
        let data = try ImagePromptPairs(latents: latents, labels: labels, items: items, phrases: phrasesOfClass.map { $0.map { textTable.entry(for: $0)! } },
                                        texts: textTable, images: imageTable, imageItems: pool, imageLabels: poolLabels,
                                        textFraction: o.textFraction, batchSize: o.batch, seed: o.seed)

        // 4. The run.
        let settings = TrainingSettings(steps: o.steps, learningRate: o.learningRate, warmupSteps: o.warmup, cosine: true,
                                        minimumLearningRate: o.learningRate / 20, emaDecay: o.emaDecay, conditionDropout: o.conditionDropout,
                                        timesteps: .uniform, seed: o.seed)
        let trainer = GeneratorTrainer(model: model, settings: settings, nullPrompt: try encoder.encode(textTokens.nullTokens), data: data)
        let record = ImagePromptRecord(instruction: o.instruction, visionWeights: vision.weights, visionSHA256: visionDigest,
                                       defaultGuidance: o.defaultGuidance, steps: o.steps, textFraction: Float(o.textFraction),
                                       promptImagesPerClass: o.promptImagesPerClass)
        var exported = manifest
        exported.imagePrompts = record
        let sorted = JSONEncoder()
        sorted.outputFormatting = [.sortedKeys]
        let identity = "like settings=\(String(decoding: try sorted.encode(settings), as: UTF8.self)) batch=\(o.batch) latents=\(latents.count) pool=\(pool.count) text=\(o.textFraction) instruction=\(o.instruction) vision=\(visionDigest)"
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(
            directory: o.runDirectory, steps: o.steps, stopAfter: o.stopAfter, checkpointEvery: o.checkpointEvery, restart: o.restart,
            progressLabel: "train-like", pauseAfterLogging: o.pauseAfterLogging, identity: identity), report: report)
        report("fine-tuning \(o.model.path)'s generator (\(model.parameterCount()) parameters) on image prompts, \(Int((o.textFraction * 100).rounded())) % of the steps on text: \(o.steps) steps × \(o.batch) latents, \(Parallel.threadCount) threads")
        let lossCurve = o.runDirectory.appendingPathComponent("loss.png"), log = run.logURL!
        try run.run(export: { step in
            var exported = exported
            exported.imagePrompts?.steps = step   // the steps this export has had, of the schedule's o.steps
            try trainer.withAveragedWeights {
                try TextToImagePipeline.writeFolder(manifest: exported, generator: model, autoencoder: vae, guide: guide, weights: .float16,
                                                    metadata: ["step": "\(step)"],
                                                    extraFiles: [visionFolder.appendingPathComponent(VisionModelConfiguration.fileName), visionWeights],
                                                    to: o.output)
            }
            try LossCurvePlot.write(["image", "text"].map { .init(name: "\($0) prompts", points: TrainingLog.series(in: log, x: "step", y: "\($0)_loss")) }
                                        .filter { !$0.points.isEmpty },
                                    to: lossCurve.path)
        })
        return Result(output: o.output, lossCurve: lossCurve, log: log)
    }

    /// Dataset items as the image encoder's input: [N, C, H, W] in [0, 1] (the vision path's Fashion-MNIST images).
    public static func pixels(of items: [Int], in dataset: any Dataset) throws -> Tensor {
        guard let first = items.first else { throw TrainingError(message: "no images") }
        let shape = try dataset.item(at: first).image
        var values: [Float] = []
        values.reserveCapacity(items.count * shape.channels * shape.height * shape.width)
        for item in items {
            let image = try dataset.item(at: item).image
            guard image.width == shape.width, image.height == shape.height, image.channels == shape.channels else {
                throw TrainingError(message: "training image \(item) is \(image.width)×\(image.height)×\(image.channels), the first \(shape.width)×\(shape.height)×\(shape.channels)")
            }
            // Planar from interleaved (one plane for grey).
            let c = image.channels, n = image.width * image.height
            for k in 0..<c { for i in 0..<n { values.append(Float(image.pixels[i * c + k]) / 255) } }
        }
        return Tensor(values, shape: [items.count, shape.channels, shape.height, shape.width])
    }
}
