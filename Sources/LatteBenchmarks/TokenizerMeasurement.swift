import Foundation

/// Our tokenizer's side of `TokenizerBenchmark`: which files, and the best times in seconds.
public struct TokenizerMeasurement: Sendable {
    public let tokenizerPath: String
    public let textPath: String
    /// Size of the encoded text (10⁶ bytes).
    public let megabytes: Double
    /// The ids of the whole text, compared with the reference's by digest.
    public let ids: [Int]
    public let loadSeconds: Double
    public let coldSeconds: Double
    public let warmSeconds: Double
    public let linesSeconds: Double

    public var encodeColdMBPerSecond: Double { megabytes / coldSeconds }
    public var encodeWarmMBPerSecond: Double { megabytes / warmSeconds }
    public var encodeLinesMBPerSecond: Double { megabytes / linesSeconds }

    /// Three lines: the tokenizer, the text, and the timings.
    public var table: String {
        ["tokenizer: \(tokenizerPath)",
         String(format: "text: %@ (%.2f MB, %d tokens)", textPath, megabytes, ids.count),
         String(format: "LatteTokenizers  load %.3f s   encode cold %.2f MB/s   warm %.2f MB/s   per line %.2f MB/s",
                loadSeconds, encodeColdMBPerSecond, encodeWarmMBPerSecond, encodeLinesMBPerSecond)]
            .joined(separator: "\n")
    }
}

/// HF `tokenizers` on the same text, as scripts/bench_tokenizers.py reports it (rates in MB/s).
public struct HFTokenizersMeasurement: Sendable {
    public let loadSeconds: Double
    public let encodeColdMBPerSecond: Double
    public let encodeWarmMBPerSecond: Double
    public let encodeLinesMBPerSecond: Double
    public let tokens: Int
    /// `TokenizerBenchmark.digest` of its ids.
    public let idsDigest: String
}

/// The reference side of `TokenizerBenchmark`: measured, or skipped and why.
public enum TokenizerReference: Sendable {
    case measured(HFTokenizersMeasurement)
    case skipped(String)

    /// The reference's line and the ratios (Latte / HF) — or one line saying why there are none.
    public func table(comparedWith ours: TokenizerMeasurement) -> String {
        switch self {
        case .skipped(let reason):
            return "HF tokenizers: skipped (\(reason))"
        case .measured(let ref):
            let sameIDs = ref.idsDigest == TokenizerBenchmark.digest(ours.ids)
            return String(format: "HF tokenizers    load %.3f s   encode cold %.2f MB/s   warm %.2f MB/s   per line %.2f MB/s   (%d tokens%@)",
                          ref.loadSeconds, ref.encodeColdMBPerSecond, ref.encodeWarmMBPerSecond, ref.encodeLinesMBPerSecond,
                          ref.tokens, sameIDs ? ", identical ids" : ", IDS DIFFER")
                + "\n"
                + String(format: "ratio (Latte / HF): encode cold %.2f×, warm %.2f×, per line %.2f×",
                         ours.encodeColdMBPerSecond / ref.encodeColdMBPerSecond, ours.encodeWarmMBPerSecond / ref.encodeWarmMBPerSecond,
                         ours.encodeLinesMBPerSecond / ref.encodeLinesMBPerSecond)
        }
    }
}
