import Foundation

/// FID statistics on disk: a safetensors file with F64 tensors `mean` [D] and `covariance` [D, D]
/// and the sample count in the metadata (readable by any safetensors library).
extension FIDStatistics {
    public func write(to url: URL, metadata: [String: String] = [:]) throws {
        var meta = metadata
        meta["count"] = "\(count)"
        try Float64SafetensorsFile.write([("covariance", [dimension, dimension], covariance), ("mean", [dimension], mean)],
                                         metadata: meta, to: url)
    }

    public init(contentsOf url: URL) throws {
        let file = try Float64SafetensorsFile.Reader(url)
        guard let shape = file.shape("mean"), shape.count == 1 else { throw FIDError("\(url.path): no 'mean' vector") }
        let d = shape[0]
        guard let count = file.metadata["count"].flatMap(Int.init) else { throw FIDError("\(url.path): metadata lacks the sample count") }
        self.init(dimension: d, count: count, mean: try file.values("mean", count: d), covariance: try file.values("covariance", count: d * d))
    }
}
