import Foundation
import LatteTensor

extension Module {
    /// Loads a Hugging Face / diffusers model folder's weights (single file or sharded index),
    /// after `sanitize` renames or transposes keys as the model family requires.
    public func loadWeights(folder: URL, strict: Bool = true,
                            sanitize: ([String: Tensor]) throws -> [String: Tensor] = { $0 }) throws {
        let checkpoint = try SafetensorsCheckpoint.open(folder: folder)
        do {
            try update(parameters: try sanitize(checkpoint.tensors), strict: strict)
        } catch let e as ParameterLoadError {
            throw CheckpointError(message: "\(folder.path): \(e)")
        }
    }
}
