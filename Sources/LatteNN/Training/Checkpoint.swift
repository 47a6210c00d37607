import Foundation
import LatteTensor

/// A training checkpoint: one directory holding
///
///     model.safetensors       every parameter (frozen ones too), by checkpoint key
///     optimizer.safetensors   the optimiser's moments, step and settings in the metadata (optional)
///     ema.safetensors         the parameter averages, update count in the metadata (optional)
///     checkpoint.json         { "format": …, "files": […], "extra": { caller's strings } }
///
/// Saving builds the directory under a temporary name beside the target and renames it into place,
/// so a crash mid-save never leaves a half-written checkpoint under the real name (an older
/// checkpoint at the same path is replaced only once the new one is complete).
public enum Checkpoint {
    static let format = "latteflow-checkpoint-1"

    public static func save(model: Module, optimizer: (any Optimizer)? = nil, ema: ExponentialMovingAverage? = nil,
                            extra: [String: String] = [:], to directory: URL) throws {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true)
        let partial = parent.appendingPathComponent(".\(directory.lastPathComponent).partial-\(getpid())")
        try? fm.removeItem(at: partial)
        try fm.createDirectory(at: partial, withIntermediateDirectories: false)
        var files = ["model.safetensors"]
        try model.saveSafetensors(partial.appendingPathComponent("model.safetensors"))
        if let optimizer {
            try optimizer.saveState(to: partial.appendingPathComponent("optimizer.safetensors"))
            files.append("optimizer.safetensors")
        }
        if let ema {
            try ema.save(to: partial.appendingPathComponent("ema.safetensors"))
            files.append("ema.safetensors")
        }
        let manifest: [String: Any] = ["format": format, "files": files, "extra": extra]
        let json = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try json.write(to: partial.appendingPathComponent("checkpoint.json"))

        // Swap into place: old → aside, new → name, remove old.
        let aside = parent.appendingPathComponent(".\(directory.lastPathComponent).old-\(getpid())")
        let hadOld = fm.fileExists(atPath: directory.path)
        if hadOld {
            try? fm.removeItem(at: aside)
            try fm.moveItem(at: directory, to: aside)
        }
        guard rename(partial.path, directory.path) == 0 else {
            let code = errno
            if hadOld { try? fm.moveItem(at: aside, to: directory) }
            throw CheckpointError(message: "\(directory.path): could not move the new checkpoint into place (errno \(code))")
        }
        if hadOld { try? fm.removeItem(at: aside) }
    }

    /// Whether a checkpoint is at `directory`, after repairing a save that was killed between its two
    /// renames (see `recoverInterruptedSave`). Training commands call this before deciding to resume.
    public static func exists(at directory: URL) -> Bool {
        recoverInterruptedSave(at: directory)
        return FileManager.default.fileExists(atPath: directory.appendingPathComponent("checkpoint.json").path)
    }

    /// A save killed after moving the old checkpoint aside but before renaming the new one into place
    /// leaves no checkpoint under the real name. Put back the newest complete one: a finished
    /// `.partial-*` (its checkpoint.json is written last) or else the `.old-*` copy. Leftovers of
    /// killed saves are removed.
    public static func recoverInterruptedSave(at directory: URL) {
        let fm = FileManager.default
        let parent = directory.deletingLastPathComponent(), name = directory.lastPathComponent
        guard let entries = try? fm.contentsOfDirectory(atPath: parent.path) else { return }
        let partials = entries.filter { $0.hasPrefix(".\(name).partial-") }.map { parent.appendingPathComponent($0) }
        let olds = entries.filter { $0.hasPrefix(".\(name).old-") }.map { parent.appendingPathComponent($0) }
        if !fm.fileExists(atPath: directory.path) {
            let complete = { (u: URL) in fm.fileExists(atPath: u.appendingPathComponent("checkpoint.json").path) }
            if let newest = partials.first(where: complete) ?? olds.first(where: complete) {
                try? fm.moveItem(at: newest, to: directory)
            }
        }
        for leftover in partials + olds where fm.fileExists(atPath: leftover.path) { try? fm.removeItem(at: leftover) }
    }

    /// Restores the model (strictly), and the optimiser and EMA when given; returns the `extra`
    /// strings. A component passed here but absent from the checkpoint is an error.
    @discardableResult
    public static func load(model: Module, optimizer: (any Optimizer)? = nil, ema: ExponentialMovingAverage? = nil,
                            from directory: URL) throws -> [String: String] {
        let manifestURL = directory.appendingPathComponent("checkpoint.json")
        guard let data = try? Data(contentsOf: manifestURL) else {
            throw CheckpointError(message: "\(manifestURL.path): not found; is \(directory.path) a checkpoint directory?")
        }
        guard let manifest = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              manifest["format"] as? String == format, let files = manifest["files"] as? [String] else {
            throw CheckpointError(message: "\(manifestURL.path): not a \(format) manifest")
        }
        func need(_ name: String) throws -> URL {
            guard files.contains(name) else { throw CheckpointError(message: "\(directory.path) has no \(name) (saved without it)") }
            return directory.appendingPathComponent(name)
        }
        try model.loadSafetensors(try need("model.safetensors"), strict: true)
        if let optimizer { try optimizer.loadState(from: try need("optimizer.safetensors")) }
        if let ema { try ema.load(from: try need("ema.safetensors")) }
        return manifest["extra"] as? [String: String] ?? [:]
    }
}

public struct CheckpointError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
