import Foundation
import LatteFormats
import LatteModels
import LatteNN
import LatteTensor
import LatteTokenizers

/// Model folders: loading and saving are each other's inverse (see `TextToImageManifest` for the layout).
extension TextToImagePipeline {
    /// Loads a model folder. model.json is read once; the backbone it names is resolved under `assets`
    /// when it is a pinned asset name (fetched only if the caller allows it).
    public static func load(directory: URL, assets: AssetPolicy = .requirePresent) throws -> TextToImagePipeline {
        try loadWithBackbone(directory: directory, assets: assets).pipeline
    }

    /// `load(directory:assets:)`, also returning the backbone it loaded, for a caller that chats with the
    /// same language model (`latte serve`) instead of loading it twice.
    public static func loadWithBackbone(directory: URL, assets: AssetPolicy = .requirePresent) throws -> (pipeline: TextToImagePipeline, backbone: Backbone) {
        let manifest = try TextToImageManifest.load(directory: directory)
        let generator = try loadGenerator(configuration: directory.appendingPathComponent(manifest.generator),
                                          weights: directory.appendingPathComponent(manifest.weights))
        let autoencoder = try loadAutoencoder(directory: directory.appendingPathComponent(manifest.autoencoder))
        let backbone = try Backbone.load(manifest.backbone, assets: assets)
        let pipeline = try TextToImagePipeline(manifest: manifest, generator: generator, autoencoder: autoencoder,
                                               tokenizer: backbone.tokenizer, backbone: backbone.promptBackbone)
        if let configuration = manifest.guideGenerator, let weights = manifest.guideWeights {
            try pipeline.setGuide(try loadGenerator(configuration: directory.appendingPathComponent(configuration),
                                                    weights: directory.appendingPathComponent(weights)))
        }
        return (pipeline, backbone)
    }

    /// Writes this model as a folder that `load(directory:)` reads back: model.json, the generator
    /// (and guide) configuration and weights in `weights` element type, and the autoencoder in
    /// `autoencoder/`. `metadata` goes into the generator's weights file (e.g. the training step).
    /// An existing folder at `directory` is replaced only once the new one is complete.
    public func save(to directory: URL, weights dtype: DType = .float16, metadata: [String: String] = [:]) throws {
        try Self.writeFolder(manifest: manifest, generator: generator, autoencoder: autoencoder, guide: guide,
                             weights: dtype, metadata: metadata, to: directory)
    }

    /// The folder writer behind `save(to:)`, for callers without a loaded backbone (a training run
    /// exports its EMA weights this way). File names are the standard ones whatever `manifest` said.
    /// `extraFiles` are copied in under their own names (`latte train-like`: the vision weights the
    /// generator was trained to read, which must travel with it).
    public static func writeFolder(manifest: TextToImageManifest, generator: LayerwiseTimestepExperts, autoencoder: any LatentAutoencoder,
                                   guide: LayerwiseTimestepExperts?, weights dtype: DType = .float16, metadata: [String: String] = [:],
                                   extraFiles: [URL] = [], to directory: URL) throws {
        var m = manifest
        m.generator = "generator.json"; m.weights = "generator.safetensors"; m.autoencoder = "autoencoder"
        if guide == nil {
            m.guideGenerator = nil; m.guideWeights = nil; m.defaultGuideWeight = nil
        } else {
            m.guideGenerator = "guide.json"; m.guideWeights = "guide.safetensors"
        }
        try replaceFolder(at: directory) { staging in
            try m.save(to: staging.appendingPathComponent("model.json"))
            try generator.configuration.save(to: staging.appendingPathComponent(m.generator))
            try generator.saveSafetensors(staging.appendingPathComponent(m.weights), metadata: metadata, dtype: dtype)
            try autoencoder.save(directory: staging.appendingPathComponent(m.autoencoder))
            if let guide, let configuration = m.guideGenerator, let weights = m.guideWeights {
                try guide.configuration.save(to: staging.appendingPathComponent(configuration))
                try guide.saveSafetensors(staging.appendingPathComponent(weights), dtype: dtype)
            }
            for file in extraFiles { try FileManager.default.copyItem(at: file, to: staging.appendingPathComponent(file.lastPathComponent)) }
        }
    }

    /// Builds a folder under a temporary name beside `directory`, then swaps it in with two renames, so
    /// that at every moment either the old or the new folder is complete on disk.
    static func replaceFolder(at directory: URL, build: (URL) throws -> Void) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent(), name = directory.lastPathComponent
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let staging = parent.appendingPathComponent(".\(name).partial-\(getpid())")
        let old = parent.appendingPathComponent(".\(name).old-\(getpid())")
        try? fm.removeItem(at: staging)
        try fm.createDirectory(at: staging, withIntermediateDirectories: true)
        do { try build(staging) } catch {
            try? fm.removeItem(at: staging)
            throw error
        }
        try? fm.removeItem(at: old)
        if fm.fileExists(atPath: directory.path) { try fm.moveItem(at: directory, to: old) }
        try fm.moveItem(at: staging, to: directory)
        try? fm.removeItem(at: old)
    }

    /// A model folder's generator configuration and weights file, as named by its model.json (e.g. to
    /// initialise a training run from it).
    public static func generatorFiles(in directory: URL) throws -> (configuration: GeneratorConfiguration, weights: URL) {
        let manifest = try TextToImageManifest.load(directory: directory)
        return try generatorFiles(configuration: directory.appendingPathComponent(manifest.generator),
                                  weights: directory.appendingPathComponent(manifest.weights))
    }

    /// A generator configuration file parsed, and its weights file checked to exist.
    static func generatorFiles(configuration: URL, weights: URL) throws -> (configuration: GeneratorConfiguration, weights: URL) {
        let parsed = try GeneratorConfiguration.load(from: configuration)
        guard FileManager.default.fileExists(atPath: weights.path) else {
            throw GeneratorError.invalidConfiguration("\(weights.path): missing generator weights")
        }
        return (parsed, weights)
    }

    /// The generation pathway of a model folder, weights loaded.
    public static func loadGenerator(directory: URL) throws -> LayerwiseTimestepExperts {
        let files = try generatorFiles(in: directory)
        return try loadGenerator(configuration: files.configuration, weights: files.weights)
    }

    /// A generation pathway from its configuration file and weights file (f32, f16 or int8).
    public static func loadGenerator(configuration: URL, weights: URL) throws -> LayerwiseTimestepExperts {
        let files = try generatorFiles(configuration: configuration, weights: weights)
        return try loadGenerator(configuration: files.configuration, weights: files.weights)
    }

    static func loadGenerator(configuration: GeneratorConfiguration, weights: URL) throws -> LayerwiseTimestepExperts {
        let generator = try LayerwiseTimestepExperts(configuration)
        try generator.loadSafetensors(weights, strict: true)
        return generator
    }

    /// Loads another model folder's generator to guide this model (autoguidance), replacing the
    /// folder's own guide if it has one.
    public func loadGuide(directory: URL) throws {
        try setGuide(try Self.loadGenerator(directory: directory))
    }
}
