import Foundation
import LatteNN

/// Writes a LatteFlow model folder (see `TextToImageManifest`): `manifest` as model.json, the
/// generator's configuration and its current weights in f16 (with `weightsMetadata`, e.g. the step),
/// and a copy of the autoencoder folder under the manifest's `autoencoder` name. The folder is built
/// beside `folder` and swapped in by two renames, so at every moment either the previous export or the
/// new one is complete on disk.
///
/// Training exports the EMA weights: call it inside `GeneratorTrainer.withAveragedWeights`.
public func exportModelFolder(to folder: URL, manifest: TextToImageManifest, generator: LayerwiseTimestepExperts,
                              weightsMetadata: [String: String], autoencoderFolder: URL) throws {
    let fm = FileManager.default
    let staging = URL(fileURLWithPath: folder.path + ".partial"), old = URL(fileURLWithPath: folder.path + ".old")
    try? fm.removeItem(at: staging)
    try fm.createDirectory(at: staging, withIntermediateDirectories: true)
    try manifest.save(to: staging.appendingPathComponent("model.json"))
    try generator.configuration.save(to: staging.appendingPathComponent(manifest.generator))
    try generator.saveSafetensors(staging.appendingPathComponent(manifest.weights), metadata: weightsMetadata, dtype: .float16)
    try fm.copyItem(at: autoencoderFolder, to: staging.appendingPathComponent(manifest.autoencoder))
    try? fm.removeItem(at: old)
    if fm.fileExists(atPath: folder.path) { try fm.moveItem(at: folder, to: old) }
    try fm.moveItem(at: staging, to: folder)
    try? fm.removeItem(at: old)
}

/// The sampling defaults a trained model's model.json gets: the default model's sweep
/// (models/latteflow-fashion/README.md) found Heun with 15 steps and guidance 2 best for FID, at the
/// cost of Euler with 30.
public enum TrainedModelDefaults {
    public static let solver: FlowSolver = .heun
    public static let steps = 15
    public static let guidance: Float = 2
    /// Prepended to every prompt (SmolLM2's turn start); alone it is the null prompt.
    public static let promptStartToken = "<|im_start|>"
    /// The autoencoder's folder name inside the model folder.
    public static let autoencoderFolder = "autoencoder"

    /// The manifest of a model trained on `backbone` with images bordered by `crop` pixels.
    public static func manifest(backbone: String, crop: Int, classNames: [String], classPhrases: [[String]]) -> TextToImageManifest {
        TextToImageManifest(backbone: backbone, autoencoder: autoencoderFolder, promptStartToken: promptStartToken, crop: crop,
                            defaultSteps: steps, defaultGuidance: guidance, defaultSolver: solver,
                            classNames: classNames, classPhrases: classPhrases)
    }
}
