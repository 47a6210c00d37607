import Foundation

/// What `VAEBenchmark` measured, with diffusers' numbers beside ours where the reference ran.
public struct VAEResult: Sendable {
    public let threads: Int
    public let repeats: Int
    /// "measured (versions)" or "skipped (why)".
    public let torchStatus: String
    public let autoencoders: [AutoencoderThroughputRow]
    public let convs: [ConvThroughputRow]

    /// One JSON object with sorted keys.
    public func json() throws -> String {
        try sortedJSON(["threads": threads, "repeats": repeats, "torch": torchStatus,
                        "results": autoencoders.map(\.jsonObject), "conv2d": convs.map(\.jsonObject)] as [String: Any])
    }

    /// A header line, one line per autoencoder case, one per conv.
    public var table: String {
        (["AutoencoderKL fp32, random weights, \(threads) threads, best of \(repeats); diffusers: \(torchStatus)"]
            + autoencoders.map(\.tableLine) + convs.map(\.tableLine)).joined(separator: "\n")
    }
}

/// One autoencoder case: encode and decode images per second, ours and (when measured) diffusers'.
public struct AutoencoderThroughputRow: Sendable {
    public struct Reference: Sendable {
        public let encodeImagesPerSecond: Double
        public let decodeImagesPerSecond: Double
    }

    public let name: String
    public let size: Int
    public let batch: Int
    public let blockOutChannels: [Int]
    public let encodeImagesPerSecond: Double
    public let decodeImagesPerSecond: Double
    /// diffusers on the same config, thread count and batch.
    public internal(set) var torch: Reference?

    /// Ours / diffusers in images/s: > 1 means LatteFlow is faster.
    public var ratioEncode: Double? { torch.map { encodeImagesPerSecond / $0.encodeImagesPerSecond } }
    public var ratioDecode: Double? { torch.map { decodeImagesPerSecond / $0.decodeImagesPerSecond } }

    var jsonObject: [String: Any] {
        var o: [String: Any] = ["name": name, "size": size, "batch": batch, "block_out_channels": blockOutChannels,
                                "encode_images_per_second": encodeImagesPerSecond,
                                "decode_images_per_second": decodeImagesPerSecond]
        if let torch, let ratioEncode, let ratioDecode {
            o["torch_encode_images_per_second"] = torch.encodeImagesPerSecond
            o["torch_decode_images_per_second"] = torch.decodeImagesPerSecond
            o["ratio_encode"] = ratioEncode
            o["ratio_decode"] = ratioDecode
        }
        return o
    }

    var tableLine: String {
        var line = String(format: "%-7@ %@ %d×%d batch %d: encode %.3g img/s, decode %.3g img/s",
                          name, "\(blockOutChannels)", size, size, batch, encodeImagesPerSecond, decodeImagesPerSecond)
        if let torch, let ratioEncode, let ratioDecode {
            line += String(format: " | diffusers encode %.3g, decode %.3g | ratio (ours / diffusers) encode %.2f×, decode %.2f×",
                           torch.encodeImagesPerSecond, torch.decodeImagesPerSecond, ratioEncode, ratioDecode)
        }
        return line
    }
}

/// One 3×3, padding-1 conv: GFLOP/s, ours and (when measured) torch's.
public struct ConvThroughputRow: Sendable {
    public let name: String
    public let channels: Int
    public let size: Int
    public let batch: Int
    public let gflops: Double
    public internal(set) var torchGFLOPS: Double?

    /// Ours / torch: > 1 means LatteFlow is faster.
    public var ratio: Double? { torchGFLOPS.map { gflops / $0 } }

    var jsonObject: [String: Any] {
        var o: [String: Any] = ["name": name, "channels": channels, "size": size, "batch": batch, "gflops": gflops]
        if let torchGFLOPS, let ratio {
            o["torch_gflops"] = torchGFLOPS
            o["ratio"] = ratio
        }
        return o
    }

    var tableLine: String {
        var line = String(format: "%@: %.1f GFLOP/s", name, gflops)
        if let torchGFLOPS, let ratio { line += String(format: " | torch %.1f GFLOP/s | ratio %.2f×", torchGFLOPS, ratio) }
        return line
    }
}
