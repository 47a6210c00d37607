import Foundation
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte train` as a library call: trains the generation pathway of a text-to-image model — on class
/// phrases for a labelled image set, on captions for a captioned one — with a frozen backbone and a
/// trained autoencoder.
///
/// 1. Data: the images (`ImageDataSource`, prepared by `ImagePreparation`) become autoencoder latents,
///    cached in the run folder's `latents/` (`LatentCache`, read memory-mapped); the latent shape, and so
///    the generator's, is the latents'. Each latent row's texts come from its dataset item's annotation
///    (`TrainingPrompts`).
/// 2. Backbone: its K/V geometry shapes the generator (`GeneratorShape`, `BackboneGeometry`); every
///    distinct prompt is prefilled once into a `PromptTable`, and the null prompt apart.
/// 3. The one training loop (`TrainingRun`) runs the generator's step (`GeneratorTrainer`) and, at every
///    checkpoint, exports the model folder (`TextToImagePipeline.writeFolder`, the writer behind the pipeline's `save`) and draws the loss curve.
public enum TextToImageTraining {
    /// Where the run's files go.
    public struct Result {
        public let output: URL
        public let lossCurve: URL
        public let log: URL
    }

    /// `assets` says whether a pinned backbone missing from the asset cache may be fetched.
    public static func run(_ o: TextToImageTrainingOptions, assets: AssetPolicy = .requirePresent,
                           report everyRank: @escaping (String) -> Void) throws -> Result {
        try o.validate()
        let group = o.group
        // Data parallel: rank 0 alone reports. It opens the data (fetching a missing asset) while the
        // others wait; every rank then encodes its share of a missing latent cache; then rank 0 prepares
        // the rest of the run folder (prompt-cache file, backbone assets) while the others wait, and
        // they open what it made.
        let report: (String) -> Void = group?.isWriter ?? true ? everyRank : { _ in }
        if let group, !group.isWriter { try group.barrier("rank 0 opening the data", timeout: .infinity) }
        try FileManager.default.createDirectory(at: o.runDirectory, withIntermediateDirectories: true)

        // 1. Latents of the training set, cached against the autoencoder's weights and the image preparation.
        let vae = try loadAutoencoder(directory: o.autoencoder)
        var image = o.image
        image.channels = vae.imageChannels
        do { try image.validate() } catch let error as DatasetError { throw TrainingError(message: "--autoencoder \(o.autoencoder.path): \(error.message)") }
        let map = try o.classNames.map { try ClassNameMap(path: $0.path) }
        let templates = o.promptTemplates.isEmpty ? nil : try PromptTemplates(o.promptTemplates)
        var dataset = try ImageDataSource.dataset(o.data, split: .train, classNames: map, templates: templates)
        let classes = TrainingClasses(data: o.data, dataset: dataset)
        if let limit = o.limit { dataset = try DatasetPrefix(base: dataset, count: limit) }
        guard dataset.count > 0 else { throw TrainingError(message: "--data \(o.data): the dataset has no images") }
        // Every rank encodes its share of a missing cache (rank 0 has fetched the data by now).
        if let group, group.isWriter { try group.barrier("rank 0 opening the data", timeout: .infinity) }
        var cacheOptions = LatentCache.Options(rebuild: o.rebuildLatents)
        if let items = o.latentShardItems { cacheOptions.shardItems = items }
        let latents = try LatentCache.open(encoder: LatentEncoder(vae, folder: o.autoencoder), dataset: dataset, preparation: image,
                                           directory: o.runDirectory.appendingPathComponent("latents"),
                                           options: cacheOptions, group: group, report: report)
        // Then rank 0 alone prepares the rest (prompt-cache file, backbone assets) while the others wait.
        if let group, !group.isWriter { try group.barrier("rank 0 preparing the run folder", timeout: .infinity) }
        // Each latent row's texts, looked up by the dataset item behind it (images that could not be read
        // have no row), from the items' annotations: no image is decoded a second time.
        let prompts = try TrainingPrompts(dataset: dataset, items: latents.datasetIndices, classes: classes)
        report(prompts.summary)

        // 2. The generator, shaped by the backbone and the latents.
        let loaded = try Backbone.load(o.backbone, assets: assets)
        let backbone = loaded.promptBackbone, tokenizer = loaded.tokenizer
        let geometry = BackboneGeometry(backbone)
        let c = try GeneratorConfiguration(backbone: o.backbone, geometry: geometry, latentShape: latents.itemShape,
                                           shape: o.shape)
        let model = try LayerwiseTimestepExperts(c, seed: o.seed)
        if let initial = o.initializeFrom { try loadInitialWeights(into: model, from: initial, report: report) }
        if o.initializeFromBackbone {
            guard let weights = (loaded.model as? Module)?.parameterTensors() else {
                throw GeneratorError.invalidInput("the backbone \(o.backbone) exposes no weights to copy")
            }
            let copied = try model.initialiseFromBackbone(weights)
            report("initialised the \(c.layerCount) generation layers as copies of the backbone's (\(copied) tensors)")
        }
        if let groups = o.trainGroups { try model.trainOnly(groups: groups) }
        let samplePrompts = o.samplePrompts.isEmpty ? nil : o.samplePrompts
        let manifest = prompts.isCaptioned
            ? TrainedModelDefaults.manifest(backbone: o.backbone, crop: image.pad, classNames: nil, classPhrases: nil,
                                            samplePrompts: samplePrompts ?? prompts.samplePrompts(count: TextToImageTrainingOptions.samplePromptCount))
            : TrainedModelDefaults.manifest(backbone: o.backbone, crop: image.pad, classNames: classes.names, classPhrases: classes.phrases,
                                            samplePrompts: samplePrompts)

        // Prompt caches: every distinct prompt prefilled once (a table in memory or an f16 file), the null prompt apart.
        let encoder = PromptEncoder(backbone: backbone)
        try encoder.check(c)
        let tokens = try PromptTokens(tokenizer: tokenizer, startToken: manifest.promptStartToken)
        let table = try PromptTable.prefill(texts: prompts.texts, tokens: tokens, backbone: backbone, backboneName: o.backbone,
                                            file: o.runDirectory.appendingPathComponent("prompt-caches.f16"),
                                            memoryBudget: o.promptCacheMemory, report: report)
        let null = try encoder.encode(tokens.nullTokens)
        let data: any GeneratorTrainingData
        if prompts.isCaptioned {
            data = try CaptionedLatentData(latents: latents, captions: prompts.rows, prompts: table, batchSize: o.batch, seed: o.seed)
        } else {
            let phrases = classes.phrases.map { $0.map { table.entry(for: $0)! } }
            data = try LabelledLatentData(latents: latents, labels: prompts.labels, phrases: phrases, prompts: table,
                                          batchSize: o.batch, seed: o.seed)
        }

        var timesteps = o.timesteps
        if let groups = o.trainGroups {
            let (lower, upper) = try c.timeInterval(groups: groups)
            timesteps = .uniformWithin(lower: lower, upper: upper)
            report("training groups \(groups.map(String.init).joined(separator: ", ")) only: t uniform in [\(lower), \(upper)), \(model.parameterCount(trainableOnly: true)) of \(model.parameterCount()) parameters trainable")
        }
        let settings = TrainingSettings(steps: o.steps, learningRate: o.learningRate, warmupSteps: o.warmup, cosine: true,
                                        minimumLearningRate: o.learningRate / 20, conditionDropout: o.conditionDropout,
                                        timesteps: timesteps, seed: o.seed)
        let trainer = GeneratorTrainer(model: model, settings: settings, nullPrompt: null, data: data)
        if let group, group.isWriter { try group.barrier("rank 0 preparing the run folder", timeout: .infinity) }
        // Then the others open what rank 0 made and prefill their own in-memory prompt tables: from here
        // on every wait is a step's, under the collective timeout.
        try group?.barrier("every rank preparing", timeout: .infinity)

        // Gradient shards: asked for, else the resumed checkpoint's, else one per rank of a distributed run.
        let saved = o.restart ? nil : savedGradientShards(in: o.runDirectory)
        if let asked = o.gradientShards, let saved, asked != saved {
            report("note: continuing with \(asked) gradient shard\(asked == 1 ? "" : "s") where the checkpoint used \(saved): the same training, but not bit-identical to an uninterrupted run")
        }
        let shards = o.gradientShards ?? saved ?? group?.size ?? 1
        if shards > 1 || group != nil {
            let rows = min(o.batch, latents.count)
            guard shards % (group?.size ?? 1) == 0 else {
                throw TrainingError(message: "\(shards) gradient shards\(o.gradientShards == nil ? " (the checkpoint's)" : "") do not split over \(group?.size ?? 1) ranks: run on a number of ranks dividing \(shards), or give --gradient-shards (a multiple of the ranks)")
            }
            try trainer.useShards(shards, batchRows: rows, group: group ?? SingleProcessGroup())
            report("gradient: \(shards) shards of \(rows / shards)\(rows % shards == 0 ? "" : "–\(rows / shards + 1)") rows, summed in shard order\(group.map { ", over \($0.size) ranks" } ?? "")")
        }

        // 3. The run: resume or restart, train, checkpoint and export.
        let sorted = JSONEncoder()
        sorted.outputFormatting = [.sortedKeys]
        let identity = "settings=\(String(decoding: try sorted.encode(settings), as: UTF8.self)) batch=\(o.batch) latents=\(latents.count)x\(latents.itemShape) prompts=\(table.count) shards=\(trainer.sharded?.shards ?? 0)"
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(
            directory: o.runDirectory, steps: o.steps, stopAfter: o.stopAfter, checkpointEvery: o.checkpointEvery,
            restart: o.restart, progressLabel: "train", pauseAfterLogging: o.pauseAfterLogging,
            group: group, checkEvery: o.checkEvery, identity: identity), report: report)
        if let paired = c.backboneLayers { report("generation layers read backbone layers \(paired.map(String.init).joined(separator: ", ")) of \(geometry.layerCount)") }
        report("training \(c.groups) groups × \(c.layersPerGroup) layers, width \(c.width) (\(model.parameterCount()) parameters): \(o.steps) steps × \(o.batch) latents, \(Parallel.threadCount) threads")
        let lossCurve = o.runDirectory.appendingPathComponent("loss.png"), log = run.logURL!
        try run.run(export: { step in
            try trainer.withAveragedWeights {
                try TextToImagePipeline.writeFolder(manifest: manifest, generator: model, autoencoder: vae, guide: nil,
                                                    weights: .float16, metadata: ["step": "\(step)"], to: o.output)
            }
            // Only groups that trained (all but with --train-groups) get a curve.
            try LossCurvePlot.write((0..<c.groups).map { .init(name: "group \($0)", points: TrainingLog.series(in: log, x: "step", y: "g\($0)")) }
                                        .filter { !$0.points.isEmpty },
                                    to: lossCurve.path)
        })
        return Result(output: o.output, lossCurve: lossCurve, log: log)
    }

    /// The gradient shard count the run folder's checkpoint was trained with (1 for a checkpoint from
    /// before sharding; nil without a checkpoint).
    static func savedGradientShards(in runDirectory: URL) -> Int? {
        TrainingRun.savedGradientShards(in: runDirectory)
    }

    /// Loads generator weights from a model folder (its manifest's weights file) or a safetensors file.
    static func loadInitialWeights(into model: LayerwiseTimestepExperts, from url: URL, report: (String) -> Void) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else {
            throw GeneratorError.invalidInput("initial weights \(url.path): no such file or folder")
        }
        var weights = url
        if isDirectory.boolValue {
            let saved = try TextToImagePipeline.generatorFiles(in: url)
            guard saved.configuration == model.configuration else {
                throw GeneratorError.invalidConfiguration("initial weights \(url.path): its generator configuration differs from this run's (check --width, --groups, --mlp-width)")
            }
            weights = saved.weights
        }
        try model.loadSafetensors(weights, strict: true)
        report("initialised from \(weights.path)")
    }
}
