import Foundation
import LatteTensor

// TEMPORARY stand-in with the API of LatteTensor's Safetensors (Sources/LatteTensor/IO/Safetensors.swift),
// which the lead is landing; delete this file once that is merged. Copies instead of mapping.

struct SafetensorsFile {
    var tensors: [String: Tensor]
    var metadata: [String: String]
}

struct SafetensorsShimError: Error, CustomStringConvertible {
    let description: String
}

enum Safetensors {
    static func read(contentsOf url: URL) throws -> SafetensorsFile {
        let data = try Data(contentsOf: url)
        func fail(_ why: String) -> SafetensorsShimError { SafetensorsShimError(description: "\(url.path): \(why)") }
        guard data.count >= 8 else { throw fail("too short for a safetensors header") }
        let n = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard n <= UInt64(data.count - 8) else { throw fail("header length \(n) exceeds the file") }
        let start = 8 + Int(n)
        guard let header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<start)) as? [String: Any] else {
            throw fail("header is not a JSON object")
        }
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        for (key, value) in header {
            if key == "__metadata__" { metadata = value as? [String: String] ?? [:]; continue }
            guard let info = value as? [String: Any], let dt = info["dtype"] as? String, let dtype = DType(rawValue: dt),
                  let shape = info["shape"] as? [Int], let offs = info["data_offsets"] as? [Int], offs.count == 2 else {
                throw fail("bad entry for '\(key)'")
            }
            let bytes = Shape.count(shape) * dtype.size
            guard offs[1] - offs[0] == bytes, start + offs[1] <= data.count else { throw fail("bad data offsets for '\(key)'") }
            let t = Tensor.empty(shape, dtype: dtype)
            data.withUnsafeBytes { raw in
                t.storage.base.copyMemory(from: raw.baseAddress! + start + offs[0], byteCount: bytes)
            }
            tensors[key] = t
        }
        return SafetensorsFile(tensors: tensors, metadata: metadata)
    }

    static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let keys = tensors.keys.sorted()
        var dense: [Tensor] = []
        for k in keys {
            let t = tensors[k]!.contiguous()
            dense.append(t)
            let bytes = t.count * t.dtype.size
            header[k] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }
        var out = Data()
        var n = UInt64(json.count)
        withUnsafeBytes(of: &n) { out.append(contentsOf: $0) }
        out.append(json)
        for t in dense {
            withExtendedLifetime(t) {
                out.append(Data(bytes: t.storage.base + t.offset * t.dtype.size, count: t.count * t.dtype.size))
            }
        }
        let tmp = url.deletingLastPathComponent().appendingPathComponent(".\(url.lastPathComponent).tmp-\(getpid())")
        try out.write(to: tmp)
        if rename(tmp.path, url.path) != 0 { throw SafetensorsShimError(description: "\(url.path): rename failed (errno \(errno))") }
    }
}
