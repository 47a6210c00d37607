import Foundation
import LatteTensor

/// An optimiser over a parameter arena: it reads `arena.gradients` and updates the packed values in
/// place. Its state is a few arena-shaped buffers plus a step count.
public protocol Optimizer: AnyObject {
    var arena: ParameterArena { get }
    /// Number of updates taken so far.
    var step: Int { get }
    /// Applies one update with the given learning rate (then zero the gradients).
    func update(learningRate: Float)
    /// The state buffers keyed "<parameter key>.<buffer>", as views into the state arenas.
    func stateTensors() -> [String: Tensor]
    /// Metadata saved with the state (the step, the optimiser's name and settings).
    func stateMetadata() -> [String: String]
    /// Restores state saved by `stateTensors` / `stateMetadata` (strict: same keys and shapes).
    func loadState(tensors: [String: Tensor], metadata: [String: String]) throws
}

extension Optimizer {
    /// Writes the optimiser state to a safetensors file atomically; the step goes in the metadata.
    public func saveState(to url: URL) throws {
        try Safetensors.write(stateTensors(), metadata: stateMetadata(), to: url)
    }

    /// Reads optimiser state written by `saveState`; errors name the file, key and shapes.
    public func loadState(from url: URL) throws {
        try readStateFile(url) { try loadState(tensors: $0, metadata: $1) }
    }
}

/// Reads a safetensors state file (optimiser moments, EMA averages) into `restore`, adding the file's
/// path to any error it raises.
func readStateFile(_ url: URL, _ restore: ([String: Tensor], [String: String]) throws -> Void) throws {
    let file = try Safetensors.read(contentsOf: url)
    do {
        try restore(file.tensors, file.metadata)
    } catch var error as ParameterLoadError {
        error.file = url.path
        throw error
    } catch let error as OptimizerStateError {
        throw OptimizerStateError(message: "\(url.path): \(error.message)")
    }
}

/// Optimiser state that does not fit the optimiser it is loaded into.
public struct OptimizerStateError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// An arena-shaped float32 buffer (optimiser moments, EMA shadow), zero-initialised.
final class ArenaBuffer {
    let storage: TensorStorage
    init(count: Int) {
        storage = TensorStorage(dtype: .float32, count: count)
        storage.float32.update(repeating: 0, count: count)
    }
    var pointer: UnsafeMutablePointer<Float> { storage.float32 }
    func view(_ e: ParameterArena.Entry) -> Tensor { Tensor(storage: storage, shape: e.shape, offset: e.offset) }
}

extension ParameterArena {
    /// Named views of `buffers` per entry: "<key>.<name>".
    func stateViews(_ buffers: [(String, ArenaBuffer)]) -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for e in entries { for (name, b) in buffers { out["\(e.key).\(name)"] = b.view(e) } }
        return out
    }

    /// Copies saved per-entry state into `buffers`, strictly: every key present with its shape, no extras.
    func loadStateViews(_ buffers: [(String, ArenaBuffer)], from tensors: [String: Tensor]) throws {
        var problems: [ParameterLoadError.Problem] = []
        var expected = Set<String>()
        for e in entries {
            for (name, _) in buffers {
                let key = "\(e.key).\(name)"
                expected.insert(key)
                guard let t = tensors[key] else { problems.append(.missing(key: key, expected: e.shape)); continue }
                if t.shape != e.shape { problems.append(.shapeMismatch(key: key, expected: e.shape, found: t.shape)) }
                else if t.dtype != .float32 { problems.append(.unsupportedType(key: key, dtype: t.dtype.rawValue)) }
            }
        }
        for key in tensors.keys.sorted() where !expected.contains(key) {
            problems.append(.unexpected(key: key, found: tensors[key]!.shape))
        }
        if !problems.isEmpty { throw ParameterLoadError(problems: problems) }
        for e in entries {
            for (name, b) in buffers {
                let src = tensors["\(e.key).\(name)"]!.contiguous()
                withExtendedLifetime(src) { (b.pointer + e.offset).update(from: src.f32, count: e.count) }
            }
        }
    }
}

/// Reads an integer metadata field.
func metadataInt(_ metadata: [String: String], _ key: String) throws -> Int {
    guard let s = metadata[key], let v = Int(s), v >= 0 else {
        throw OptimizerStateError(message: "optimiser state metadata lacks a valid '\(key)' (found \(metadata[key] ?? "nothing"))")
    }
    return v
}
