import Foundation
import LatteTensor

/// The float tensors of a legacy (pre-1.6, non-zip) `torch.save` file, read without torch.
///
/// Such a file is five things back to back (torch/serialization.py `_legacy_save`): the pickled magic
/// number 0x1950a86a20f9469cfc6c, the pickled protocol version 1001, a pickled dict of system info
/// (byte order, type sizes), the pickled object itself — whose tensors name their storages by persistent
/// ids `("storage", type, key, device, count, view)` — and a pickled list of storage keys, followed by
/// each listed storage in that order as an 8-byte little-endian element count and its raw bytes.
public struct TorchLegacyArchive {
    /// Float32 tensors by state-dict key, in file order.
    public private(set) var tensors: [(name: String, tensor: Tensor)] = []
    /// Keys of tensors that are not float32 (e.g. batch norm's int64 `num_batches_tracked`), left out.
    public private(set) var skipped: [String] = []

    /// The pickled magic number: PROTO 2, LONG1 of 10 bytes (0x1950a86a20f9469cfc6c, little-endian), STOP.
    static let magic: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19, 0x2E]

    public init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        let file = url.path
        try data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            func fail(_ message: String) -> TorchArchiveError { TorchArchiveError(file: file, message) }
            guard bytes.count > Self.magic.count, zip(bytes, Self.magic).allSatisfy({ $0 == $1 }) else {
                throw fail("does not start with the legacy torch.save magic number (a zip archive reads with TorchScriptWeights)")
            }
            let pickle = TorchPickle(bytes: bytes, file: file)
            let version = try pickle.load(startingAt: Self.magic.count)
            guard version.value.int == 1001 else { throw fail("legacy protocol version \(String(describing: version.value)), expected 1001") }
            let info = try pickle.load(startingAt: version.end)
            if case .dict(let d) = info.value, case .bool(false)? = d["little_endian"] {
                throw fail("was saved on a big-endian machine; only little-endian files are supported")
            }
            let root = try pickle.load(startingAt: info.end)
            let keyList = try pickle.load(startingAt: root.end)
            guard case .dict(let stateDict) = root.value else { throw fail("does not hold a state dict (a dict of tensors)") }
            guard case .list(let keys) = keyList.value else { throw fail("has no storage key list after the state dict") }

            // Element sizes of the storages a state dict uses; the tensors' own entries say each storage's type.
            var storageType: [String: String] = [:]
            for (_, value) in stateDict.entries {
                if case .tensor(let t) = value { storageType[t.storage.key] = t.storage.typeName }
            }
            let elementSize = ["FloatStorage": 4, "LongStorage": 8, "IntStorage": 4, "DoubleStorage": 8, "HalfStorage": 2,
                               "BFloat16Storage": 2, "ByteStorage": 1, "CharStorage": 1, "ShortStorage": 2, "BoolStorage": 1]
            var storages: [String: UnsafeRawBufferPointer] = [:]
            var pos = keyList.end
            for item in keys.items {
                guard let key = item.string else { throw fail("storage key list holds a non-string") }
                guard let type = storageType[key], let size = elementSize[type] else {
                    throw fail("storage '\(key)' has an unknown element type \(storageType[key] ?? "(no tensor uses it)")")
                }
                guard pos + 8 <= bytes.count else { throw fail("truncated before storage '\(key)'") }
                let count = Int(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: pos, as: Int64.self)))
                pos += 8
                guard count >= 0, pos + count * size <= bytes.count else {
                    throw fail("storage '\(key)' of \(count) elements runs past the end of the file")
                }
                storages[key] = UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + count * size)])
                pos += count * size
            }
            for (k, value) in stateDict.entries {
                guard let name = k.string, case .tensor(let t) = value else { continue }
                guard t.storage.typeName == "FloatStorage" else { skipped.append(name); continue }
                guard let raw = storages[t.storage.key] else { throw fail("tensor '\(name)' names storage '\(t.storage.key)', which is not in the file") }
                let tensor = try TorchScriptWeights.materialise(t, storage: raw, file: file, name: name)
                tensors.append((name: name, tensor: tensor))
            }
        }
    }
}
