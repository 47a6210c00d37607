import Foundation
import LatteTensor

/// The tensors and integer attributes of a TorchScript archive (`torch.jit.save`), read without torch:
/// `<prefix>/data.pkl` is interpreted by `TorchPickle`, and each tensor's storage is the stored entry
/// `<prefix>/data/<key>`.
public struct TorchScriptWeights {
    /// Float32 tensors by dotted attribute path ("net.layers.conv.weight").
    public var tensors: [String: Tensor] = [:]
    /// Integer and integer-list attributes by dotted path ("net.layers.conv.stride" → [2]).
    public var integers: [String: [Int]] = [:]
    /// Class of each module by dotted path ("net.layers.mixed" → "InceptionA").
    public var classes: [String: String] = [:]

    public init(contentsOf url: URL) throws {
        let archive = try StoredZipArchive(url: url)
        guard let pickleName = archive.names.first(where: { $0.hasSuffix("/data.pkl") || $0 == "data.pkl" }) else {
            throw TorchArchiveError(file: url.path, "no data.pkl entry: not a TorchScript or torch.save archive")
        }
        let prefix = String(pickleName.dropLast("data.pkl".count))
        let root = try TorchPickle(bytes: try archive.storedBytes(pickleName), file: "\(url.path):\(pickleName)").load()
        try walk(root, path: "", archive: archive, prefix: prefix)
    }

    private mutating func walk(_ value: PickleValue, path: String, archive: StoredZipArchive, prefix: String) throws {
        switch value {
        case .object(let o):
            classes[path] = o.name
            if case .dict(let d) = o.state {
                for (k, v) in d.entries {
                    guard let key = k.string else { continue }
                    try walk(v, path: path.isEmpty ? key : "\(path).\(key)", archive: archive, prefix: prefix)
                }
            }
        case .tensor(let t):
            tensors[path] = try Self.materialise(t, archive: archive, prefix: prefix, name: path)
        case .int(let i):
            integers[path] = [i]
        case .list(let l):
            let values = l.items.compactMap(\.int)
            if values.count == l.items.count { integers[path] = values }
        default:
            break
        }
    }

    /// Copies a (possibly strided) float32 view of a storage entry into a dense tensor.
    static func materialise(_ t: PickleTensor, archive: StoredZipArchive, prefix: String, name: String) throws -> Tensor {
        guard t.storage.typeName == "FloatStorage" else {
            throw TorchArchiveError(file: archive.url.path, "tensor '\(name)' has \(t.storage.typeName); only FloatStorage is supported")
        }
        let entry = "\(prefix)data/\(t.storage.key)"
        let raw = try archive.storedBytes(entry)
        guard raw.count >= t.storage.count * 4 else {
            throw TorchArchiveError(file: archive.url.path, "entry '\(entry)' holds \(raw.count) bytes, storage needs \(t.storage.count * 4)")
        }
        return try materialise(t, storage: raw, file: archive.url.path, name: name)
    }

    /// Copies a (possibly strided) float32 view of one storage's little-endian bytes into a dense tensor.
    static func materialise(_ t: PickleTensor, storage raw: UnsafeRawBufferPointer, file: String, name: String) throws -> Tensor {
        guard t.storage.typeName == "FloatStorage", raw.count >= t.storage.count * 4 else {
            throw TorchArchiveError(file: file, "tensor '\(name)': \(t.storage.typeName) of \(raw.count) bytes is not a \(t.storage.count)-element FloatStorage")
        }
        guard t.shape.count == t.strides.count, t.shape.allSatisfy({ $0 >= 0 }), t.strides.allSatisfy({ $0 >= 0 }) else {
            throw TorchArchiveError(file: file, "tensor '\(name)': bad size \(t.shape) / stride \(t.strides)")
        }
        let count = t.shape.reduce(1, *)
        let last = count == 0 ? 0 : zip(t.shape, t.strides).reduce(t.offset) { $0 + ($1.0 - 1) * $1.1 }
        guard t.offset >= 0, last < t.storage.count || count == 0 else {
            throw TorchArchiveError(file: file, "tensor '\(name)' reaches element \(last) of a \(t.storage.count)-element storage")
        }
        let out = Tensor.empty(t.shape)
        let dst = out.f32
        // Row-major walk over the index space; storage bytes are little-endian float32 (PyTorch's layout on x86/ARM).
        var index = [Int](repeating: 0, count: t.shape.count)
        var source = t.offset
        for i in 0..<count {
            dst[i] = Float(bitPattern: raw.loadUnaligned(fromByteOffset: source * 4, as: UInt32.self).littleEndian)
            var d = t.shape.count - 1
            while d >= 0 {
                index[d] += 1
                source += t.strides[d]
                if index[d] < t.shape[d] { break }
                source -= t.strides[d] * t.shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }
}
