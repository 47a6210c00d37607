import Foundation
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte train` as a library call: trains the generation pathway of a class-conditional
/// text-to-image model on a labelled image set, with a frozen backbone and a trained autoencoder.
///
/// 1. Data: the images (`ImageDataSource`) become autoencoder latents, cached in the run folder's
///    `latents/` (`LatentCache`, read memory-mapped); the latent shape, and so the generator's, is the latents'.
/// 2. Backbone: its K/V geometry shapes the generator (`GeneratorShape`, `BackboneGeometry`); each class
///    phrase and the null prompt are prefilled once (`PromptEncoder`).
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
                           report: @escaping (String) -> Void) throws -> Result {
        try o.validate()
        try FileManager.default.createDirectory(at: o.runDirectory, withIntermediateDirectories: true)

        // 1. Latents of the training set, cached against the autoencoder's weights.
        let vae = try loadAutoencoder(directory: o.autoencoder)
        let map = try o.classNames.map { try ClassNameMap(path: $0.path) }
        let templates = o.promptTemplates.isEmpty ? nil : try PromptTemplates(o.promptTemplates)
        var dataset = try ImageDataSource.dataset(o.data, split: .train, classNames: map, templates: templates)
        if dataset is CaptionedImageDataset {
            throw GeneratorError.invalidInput("--data \(o.data): training on captions is not connected to latte train yet; give a folder of class sub-folders (with --class-names and --prompt-template if you like)")
        }
        let classes = TrainingClasses(data: o.data, dataset: dataset)
        if let limit = o.limit { dataset = try DatasetPrefix(base: dataset, count: limit) }
        let latents = try LatentCache.open(encoder: LatentEncoder(vae, folder: o.autoencoder), dataset: dataset,
                                           preparation: ImagePreparation(pad: o.pad, channels: vae.imageChannels),
                                           directory: o.runDirectory.appendingPathComponent("latents"),
                                           options: LatentCache.Options(rebuild: o.rebuildLatents), report: report)
        let labels = try latents.datasetIndices.map { try dataset.item(at: $0).label }   // rows of the images that could be read

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
        let manifest = TrainedModelDefaults.manifest(backbone: o.backbone, crop: o.pad, classNames: classes.names,
                                                     classPhrases: classes.phrases)

        // Prompt caches: each class phrase and the null prompt prefilled once.
        let encoder = PromptEncoder(backbone: backbone)
        try encoder.check(c)
        let tokens = try PromptTokens(tokenizer: tokenizer, startToken: manifest.promptStartToken)
        let phrases = try classes.phrases.map { try $0.map { try encoder.encode(try tokens.tokens(for: $0)) } }
        let null = try encoder.encode(tokens.nullTokens)
        report("prompt caches: \(encoder.prefills) prefills (\(classes.phrases.joined().count) phrases + null)")
        let data = try LabelledLatentData(latents: latents, labels: labels, phrases: phrases, batchSize: o.batch, seed: o.seed)

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

        // 3. The run: resume or restart, train, checkpoint and export.
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(
            directory: o.runDirectory, steps: o.steps, stopAfter: o.stopAfter, checkpointEvery: o.checkpointEvery,
            restart: o.restart, progressLabel: "train", pauseAfterLogging: o.pauseAfterLogging), report: report)
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

/// The classes of a labelled training set and the phrases a class's images are captioned with:
/// Fashion-MNIST's written phrasings (`ClassPrompts`), or for an image folder each class sub-folder's
/// name.
public struct TrainingClasses: Sendable, Equatable {
    public let names: [String]
    public let phrases: [[String]]

    public init(data: String, dataset: any Dataset) {
        if data == "fashion-mnist" {
            names = IDXDataset.fashionMNISTClasses
            phrases = ClassPrompts.fashionMNIST
        } else if let folder = dataset as? ImageFolderDataset, folder.classPhrases != folder.displayNames || folder.displayNames != folder.classNames.map({ [$0] }) {
            // A class-name map or prompt templates were given: their names and phrases.
            names = folder.displayNames.map { $0[0] }
            phrases = folder.classPhrases
        } else {
            names = dataset.classNames
            phrases = dataset.classNames.map { [$0.replacingOccurrences(of: "_", with: " ")] }
        }
    }
}
