import Foundation
import LatteFlow

/// A failure that is not a usage mistake: printed as "Error: …" without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A line on standard error: progress and notes, kept apart from a command's result on standard output.
func say(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// The model `generate` and `serve` use when no --model is given: the repository's trained model.
let defaultModelFolder = "models/latteflow-fashion"

/// Loads a model folder for a command: a pinned backbone missing from the asset cache is fetched
/// (hash-checked, saying so), and a failure says where the default model lives.
/// The pipeline only samples, so its generator's weights are packed for the GEMM once here.
func loadPipeline(_ model: String) throws -> TextToImagePipeline {
    let pipeline = try loadModelFolder(model) { try TextToImagePipeline.load(directory: $0, assets: .fetchIfMissing(log: say)) }
    pipeline.packForInference()
    return pipeline
}

/// Runs `load` on the folder `model`, turning a failure into the message of `loadPipeline`.
func loadModelFolder<T>(_ model: String, _ load: (URL) throws -> T) throws -> T {
    do { return try load(URL(fileURLWithPath: model)) } catch {
        throw CommandFailure("cannot load the model at \(model): \(error)\n(the default model lives in \(defaultModelFolder) of the repository — see models/README.md for its state; run from the repository root or pass --model DIR)")
    }
}
