import Foundation
import LatteFormats
import LatteTensor

/// Networks pinned as torch files (the FID Inception network, EfficientNet-Lite0) are converted once by
/// Swift code into a safetensors file beside the asset; a file whose `format_version` metadata is not the
/// converter's current one is converted again.
enum ConvertedAsset {
    /// The converted file's URL, running `convert(source, target)` first when it is missing or stale.
    static func file(asset: String, fileName: String, formatVersion: String, assetCache: AssetCache, log: (String) -> Void,
                     convert: (URL, URL) throws -> Void) throws -> URL {
        let source = try assetCache.require(asset)
        let target = source.deletingLastPathComponent().appendingPathComponent(fileName)
        if let existing = try? Safetensors.read(contentsOf: target), existing.metadata["format_version"] == formatVersion {
            return target
        }
        log("converting \(source.path) to \(target.path) (once)")
        try convert(source, target)
        return target
    }
}
