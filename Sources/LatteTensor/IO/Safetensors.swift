import Foundation

/// A safetensors file: named tensors (memory-mapped, zero-copy where aligned) and string metadata.
public struct SafetensorsFile {
    public let url: URL
    public let tensors: [String: Tensor]
    public let metadata: [String: String]
    /// Tensor names in file order (by data offset).
    public let names: [String]
}

/// Reads and writes the safetensors format: an 8-byte little-endian header length, a JSON header
/// {name: {dtype, shape, data_offsets}, "__metadata__": {…}}, then the raw little-endian data.
public enum Safetensors {
    /// Largest header accepted (the format's own reference implementation uses 100 MB).
    static let maxHeaderBytes = 100_000_000

    public static func read(contentsOf url: URL) throws -> SafetensorsFile {
        let file = try MappedFile(url: url)
        let name = url.path
        func bad(_ why: String) -> TensorIOError { .malformed(name, why) }
        guard file.size >= 8 else { throw bad("file is \(file.size) bytes, shorter than the 8-byte header length") }
        let headerLength = Int(clamping: file.base.loadUnaligned(as: UInt64.self).littleEndian)
        guard headerLength <= maxHeaderBytes else { throw bad("declared header length \(headerLength) exceeds the \(maxHeaderBytes)-byte limit") }
        guard headerLength <= file.size - 8 else { throw bad("declared header length \(headerLength) runs past the end of the \(file.size)-byte file (truncated?)") }
        let headerData = Data(bytes: file.base + 8, count: headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: headerData), let header = json as? [String: Any] else {
            throw bad("header is not a JSON object")
        }
        let dataStart = 8 + headerLength
        let dataSize = file.size - dataStart
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        var order: [(String, Int)] = []
        for (key, value) in header {
            if key == "__metadata__" {
                guard let m = value as? [String: Any] else { throw bad("__metadata__ is not an object") }
                for (k, v) in m {
                    guard let s = v as? String else { throw bad("metadata value for \(k) is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value as? [String: Any] else { throw bad("entry \(key) is not an object") }
            guard let dt = info["dtype"] as? String else { throw bad("tensor \(key) has no dtype") }
            guard let dtype = DType(rawValue: dt) else { throw bad("tensor \(key) has unsupported dtype \(dt)") }
            guard let shapeAny = info["shape"] as? [Any], let offsetsAny = info["data_offsets"] as? [Any], offsetsAny.count == 2 else {
                throw bad("tensor \(key) lacks a shape or a two-element data_offsets")
            }
            let shape = try shapeAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0, n <= Int(Int32.max) else { throw bad("tensor \(key) has an invalid dimension \(v)") }
                return n
            }
            let offsets = try offsetsAny.map { v -> Int in
                guard let n = (v as? NSNumber)?.intValue, n >= 0 else { throw bad("tensor \(key) has an invalid data offset \(v)") }
                return n
            }
            var count = 1
            for d in shape {
                let (p, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, p <= dataSize else { throw bad("tensor \(key) shape \(shape) is larger than the data section") }
                count = p
            }
            let (begin, end) = (offsets[0], offsets[1])
            guard begin <= end, end <= dataSize else {
                throw bad("tensor \(key) data [\(begin), \(end)) lies outside the \(dataSize)-byte data section (truncated?)")
            }
            guard end - begin == count * dtype.size else {
                throw bad("tensor \(key) has \(end - begin) data bytes but shape \(shape) of \(dt) needs \(count * dtype.size)")
            }
            let ptr = file.base + dataStart + begin
            let storage: TensorStorage
            if Int(bitPattern: ptr) % dtype.size == 0 {
                storage = TensorStorage(dtype: dtype, count: count, base: UnsafeMutableRawPointer(mutating: ptr), release: { _ = file })
            } else {
                // Misaligned for its element type: copy into aligned memory.
                storage = TensorStorage(dtype: dtype, count: count)
                storage.base.copyMemory(from: ptr, byteCount: count * dtype.size)
            }
            tensors[key] = Tensor(storage: storage, shape: shape)
            order.append((key, begin))
        }
        return SafetensorsFile(url: url, tensors: tensors, metadata: metadata, names: order.sorted { $0.1 < $1.1 }.map(\.0))
    }

    /// Writes tensors (any layout; written dense in their own dtype) atomically.
    public static func write(_ tensors: [String: Tensor], metadata: [String: String] = [:], to url: URL) throws {
        let names = tensors.keys.sorted()
        var entries: [String] = []
        if !metadata.isEmpty {
            let m = metadata.keys.sorted().map { "\(jsonString($0)):\(jsonString(metadata[$0]!))" }.joined(separator: ",")
            entries.append("\"__metadata__\":{\(m)}")
        }
        var offset = 0
        var dense: [Tensor] = []
        for name in names {
            let t = tensors[name]!.contiguous()
            dense.append(t)
            let bytes = t.count * t.dtype.size
            entries.append("\(jsonString(name)):{\"dtype\":\"\(t.dtype.rawValue)\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}")
            offset += bytes
        }
        var header = Array("{\(entries.joined(separator: ","))}".utf8)
        while header.count % 8 != 0 { header.append(0x20) }   // pad so the data starts 8-byte aligned
        try writeAtomically(url) { handle in
            var len = UInt64(header.count).littleEndian
            handle.write(Data(bytes: &len, count: 8))
            handle.write(Data(header))
            for t in dense {
                withExtendedLifetime(t) {
                    handle.write(Data(bytesNoCopy: t.storage.base + t.offset * t.dtype.size, count: t.count * t.dtype.size, deallocator: .none))
                }
            }
        }
    }

    static func jsonString(_ s: String) -> String {
        var out = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
            }
        }
        return out + "\""
    }
}
