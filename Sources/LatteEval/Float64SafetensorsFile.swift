import Foundation
import LatteTensor

/// Safetensors files of float64 tensors (FID statistics and the reference's covariance factor): the
/// project's tensor type has no float64, so these are written and read here, as plain `[Double]`s.
enum Float64SafetensorsFile {
    /// Writes `tensors` (name, shape, values) in order, with string metadata, atomically.
    static func write(_ tensors: [(name: String, shape: [Int], values: [Double])], metadata: [String: String], to url: URL) throws {
        let metaJSON = metadata.keys.sorted().map { "\(quote($0)):\(quote(metadata[$0]!))" }.joined(separator: ",")
        var entries: [String] = [], offset = 0
        for t in tensors {
            precondition(t.values.count == t.shape.reduce(1, *), "\(t.name): \(t.values.count) values for shape \(t.shape)")
            let shape = t.shape.map(String.init).joined(separator: ",")
            entries.append("\(quote(t.name)):{\"dtype\":\"F64\",\"shape\":[\(shape)],\"data_offsets\":[\(offset),\(offset + t.values.count * 8)]}")
            offset += t.values.count * 8
        }
        var header = Array(("{\"__metadata__\":{\(metaJSON)}," + entries.joined(separator: ",") + "}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        try writeAtomically(url) { handle in
            var length = UInt64(header.count).littleEndian
            handle.write(Data(bytes: &length, count: 8))
            handle.write(Data(header))
            for t in tensors { t.values.withUnsafeBytes { handle.write(Data($0)) } }
        }
    }

    /// A mapped file's header, metadata and F64 tensors by name; errors name the file.
    struct Reader {
        let url: URL
        let file: MappedFile
        let header: [String: Any]
        let dataStart: Int

        init(_ url: URL) throws {
            self.url = url
            file = try MappedFile(url: url)
            guard file.size >= 8 else { throw FIDError("\(url.path): too short for a safetensors file") }
            let headerLength = Int(UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self)))
            guard headerLength > 0, headerLength <= file.size - 8 else { throw FIDError("\(url.path): bad header length \(headerLength)") }
            let json = Data(bytes: file.base + 8, count: headerLength)
            guard let header = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { throw FIDError("\(url.path): header is not JSON") }
            (self.header, dataStart) = (header, 8 + headerLength)
        }

        var metadata: [String: String] { header["__metadata__"] as? [String: String] ?? [:] }

        /// The shape of F64 tensor `name`, or nil when the file has no such tensor.
        func shape(_ name: String) -> [Int]? {
            guard let info = header[name] as? [String: Any], info["dtype"] as? String == "F64" else { return nil }
            return info["shape"] as? [Int]
        }

        /// The values of F64 tensor `name`, which must hold exactly `count` of them.
        func values(_ name: String, count: Int) throws -> [Double] {
            guard let info = header[name] as? [String: Any], info["dtype"] as? String == "F64",
                  let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw FIDError("\(url.path): no F64 tensor '\(name)'")
            }
            guard offsets[1] - offsets[0] == count * 8, offsets[0] >= 0, dataStart + offsets[1] <= file.size else {
                throw FIDError("\(url.path): tensor '\(name)' has \(offsets[1] - offsets[0]) bytes, expected \(count * 8)")
            }
            let start = file.base + dataStart + offsets[0]
            return (0..<count).map { start.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self) }
        }
    }

    static func quote(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s])
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }
}
