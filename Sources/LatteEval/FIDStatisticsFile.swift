import Foundation
import LatteTensor

/// FID statistics on disk: a safetensors file with F64 tensors `mean` [D] and `covariance` [D, D]
/// and the sample count in the metadata (readable by any safetensors library).
extension FIDStatistics {
    public func write(to url: URL, metadata: [String: String] = [:]) throws {
        let d = dimension
        var meta = metadata
        meta["count"] = "\(count)"
        let metaJSON = meta.keys.sorted().map { "\(Self.quote($0)):\(Self.quote(meta[$0]!))" }.joined(separator: ",")
        var header = Array(("{\"__metadata__\":{\(metaJSON)},"
            + "\"covariance\":{\"dtype\":\"F64\",\"shape\":[\(d),\(d)],\"data_offsets\":[0,\(d * d * 8)]},"
            + "\"mean\":{\"dtype\":\"F64\",\"shape\":[\(d)],\"data_offsets\":[\(d * d * 8),\(d * d * 8 + d * 8)]}}").utf8)
        while header.count % 8 != 0 { header.append(0x20) }
        try writeAtomically(url) { handle in
            var length = UInt64(header.count).littleEndian
            handle.write(Data(bytes: &length, count: 8))
            handle.write(Data(header))
            covariance.withUnsafeBytes { handle.write(Data($0)) }
            mean.withUnsafeBytes { handle.write(Data($0)) }
        }
    }

    public init(contentsOf url: URL) throws {
        let file = try MappedFile(url: url)
        func fail(_ message: String) -> FIDError { FIDError("\(url.path): \(message)") }
        guard file.size >= 8 else { throw fail("too short for a safetensors file") }
        let headerLength = Int(UInt64(littleEndian: file.base.loadUnaligned(as: UInt64.self)))
        guard headerLength > 0, headerLength <= file.size - 8 else { throw fail("bad header length \(headerLength)") }
        let json = Data(bytes: file.base + 8, count: headerLength)
        guard let header = try? JSONSerialization.jsonObject(with: json) as? [String: Any] else { throw fail("header is not JSON") }
        let dataStart = 8 + headerLength
        func tensor(_ name: String, _ expected: Int) throws -> [Double] {
            guard let info = header[name] as? [String: Any], info["dtype"] as? String == "F64",
                  let offsets = info["data_offsets"] as? [Int], offsets.count == 2 else {
                throw fail("no F64 tensor '\(name)'")
            }
            guard offsets[1] - offsets[0] == expected * 8, offsets[0] >= 0, dataStart + offsets[1] <= file.size else {
                throw fail("tensor '\(name)' has \(offsets[1] - offsets[0]) bytes, expected \(expected * 8)")
            }
            return (0..<expected).map { file.base.loadUnaligned(fromByteOffset: dataStart + offsets[0] + $0 * 8, as: Double.self) }
        }
        guard let meanInfo = header["mean"] as? [String: Any], let shape = meanInfo["shape"] as? [Int], shape.count == 1 else {
            throw fail("no 'mean' vector")
        }
        let d = shape[0]
        let meta = header["__metadata__"] as? [String: String] ?? [:]
        guard let count = meta["count"].flatMap(Int.init) else { throw fail("metadata lacks the sample count") }
        self.init(dimension: d, count: count, mean: try tensor("mean", d), covariance: try tensor("covariance", d * d))
    }

    static func quote(_ s: String) -> String {
        let data = try! JSONSerialization.data(withJSONObject: [s])
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }
}
