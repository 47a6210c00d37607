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

/// Loads a model folder for a command: a pinned backbone missing from the asset cache is fetched
/// (hash-checked, saying so), and a failure says where the default model lives.
func loadPipeline(_ model: String) throws -> TextToImagePipeline {
    do { return try TextToImagePipeline.load(directory: URL(fileURLWithPath: model), assets: .fetchIfMissing(log: say)) } catch {
        throw CommandFailure("cannot load the model at \(model): \(error)\n(the default model lives in models/latteflow-fashion of the repository — see models/README.md for its state; run from the repository root or pass --model DIR)")
    }
}
