import Foundation

/// The weights of a Hugging Face / diffusers model folder: one `*.safetensors` file, or shards listed
/// by an index (`model.safetensors.index.json`: {"metadata": …, "weight_map": {key: file}}). Every shard is
/// memory-mapped; tensors stay in their stored dtype (F32, F16, BF16) and are converted on use.
public struct SafetensorsCheckpoint {
    public let tensors: [String: Tensor]
    /// The files read, in order.
    public let files: [URL]

    /// Opens a folder: the index if present, else the single weights file named `preferred` (or the
    /// only `.safetensors` file there).
    public static func open(folder: URL, preferred: [String] = ["model.safetensors", "diffusion_pytorch_model.safetensors"]) throws -> SafetensorsCheckpoint {
        let fm = FileManager.default
        for name in preferred {
            let index = folder.appendingPathComponent(name + ".index.json")
            if fm.fileExists(atPath: index.path) { return try open(index: index) }
        }
        for name in preferred {
            let file = folder.appendingPathComponent(name)
            if fm.fileExists(atPath: file.path) { return try open(files: [file]) }
        }
        let all = ((try? fm.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".safetensors") }.sorted()
        guard all.count == 1 else {
            throw TensorIOError.malformed(folder.path, all.isEmpty
                ? "no .safetensors weights (looked for \(preferred.joined(separator: ", ")) and their .index.json)"
                : "several .safetensors files (\(all.joined(separator: ", "))) and no index saying which to use")
        }
        return try open(files: [folder.appendingPathComponent(all[0])])
    }

    /// Reads a shard index and every shard it names; each key must be in the shard the index says.
    public static func open(index: URL) throws -> SafetensorsCheckpoint {
        func bad(_ why: String) -> TensorIOError { .malformed(index.path, why) }
        guard let data = try? Data(contentsOf: index) else { throw TensorIOError.cannotOpen(index.path, "unreadable") }
        guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
              let map = json["weight_map"] as? [String: Any] else { throw bad("not a safetensors index (no weight_map object)") }
        var keysByFile: [String: Set<String>] = [:]
        for (key, file) in map {
            guard let f = file as? String else { throw bad("weight_map entry \(key) is not a file name") }
            guard !f.contains("/") && !f.hasPrefix(".") else { throw bad("weight_map entry \(key) points outside the folder: \(f)") }
            keysByFile[f, default: []].insert(key)
        }
        let folder = index.deletingLastPathComponent()
        var tensors: [String: Tensor] = [:]
        var files: [URL] = []
        for file in keysByFile.keys.sorted() {
            let url = folder.appendingPathComponent(file)
            guard FileManager.default.fileExists(atPath: url.path) else { throw bad("shard \(file) listed in the index is missing") }
            let shard = try Safetensors.read(contentsOf: url)
            files.append(url)
            for key in keysByFile[file]! {
                guard let t = shard.tensors[key] else { throw bad("\(key) is mapped to \(file), which does not hold it") }
                tensors[key] = t
            }
        }
        return SafetensorsCheckpoint(tensors: tensors, files: files)
    }

    /// Reads and merges several files; a key found twice is an error.
    public static func open(files: [URL]) throws -> SafetensorsCheckpoint {
        var tensors: [String: Tensor] = [:]
        for url in files {
            for (k, t) in try Safetensors.read(contentsOf: url).tensors {
                guard tensors[k] == nil else { throw TensorIOError.malformed(url.path, "tensor \(k) appears in more than one file") }
                tensors[k] = t
            }
        }
        return SafetensorsCheckpoint(tensors: tensors, files: files)
    }

    /// Writes tensors as shards of at most `maxShardBytes` with an index, as transformers'
    /// `save_pretrained` does (`model-00001-of-00003.safetensors`, …). Each file is written atomically.
    public static func writeSharded(_ tensors: [String: Tensor], to folder: URL, baseName: String = "model",
                                    maxShardBytes: Int, metadata: [String: String] = [:]) throws {
        var shards: [[String]] = [[]]
        var size = 0
        for key in tensors.keys.sorted() {
            let bytes = tensors[key]!.count * tensors[key]!.dtype.size
            if size + bytes > maxShardBytes && !shards[shards.count - 1].isEmpty { shards.append([]); size = 0 }
            shards[shards.count - 1].append(key)
            size += bytes
        }
        var map: [String: String] = [:]
        var total = 0
        for (i, keys) in shards.enumerated() {
            let name = String(format: "%@-%05d-of-%05d.safetensors", baseName, i + 1, shards.count)
            try Safetensors.write(Dictionary(uniqueKeysWithValues: keys.map { ($0, tensors[$0]!) }), metadata: metadata,
                                  to: folder.appendingPathComponent(name))
            for k in keys { map[k] = name; total += tensors[k]!.count * tensors[k]!.dtype.size }
        }
        let index: [String: Any] = ["metadata": ["total_size": total], "weight_map": map]
        let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted, .sortedKeys])
        try writeAtomically(folder.appendingPathComponent("\(baseName).safetensors.index.json")) { $0.write(data) }
    }
}
