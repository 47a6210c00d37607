import Foundation

/// A training run's log: one JSON object per line, appended to a file that a resumed run continues.
///
/// Opening it with `resumingAt: step` (the step of the checkpoint being resumed) first drops the lines
/// a killed run wrote after that checkpoint — the resumed run repeats those steps — so the log and the
/// loss curve drawn from it hold each step once. The trimmed copy replaces the file by temp file and
/// rename, so a crash while trimming leaves the old log intact.
public struct TrainingLog {
    private let handle: FileHandle
    private let encoder = JSONEncoder()

    public init(url: URL, resumingAt step: Int? = nil) throws {
        if let step, let text = try? String(contentsOf: url, encoding: .utf8) {
            let kept = text.split(separator: "\n").filter { line in
                guard let s = Self.number(in: line, key: "step") else { return true }
                return Int(s) <= step
            }
            let temporary = url.appendingPathExtension("partial")
            try Data(kept.map { $0 + "\n" }.joined().utf8).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw CheckpointError(message: "cannot replace \(url.path) with its trimmed copy (errno \(errno))")
            }
        }
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
        encoder.outputFormatting = [.sortedKeys]
        // A skipped step's loss or gradient norm is not finite; JSON has no number for it.
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
    }

    /// A decoder for the log's lines: non-finite values ("nan", "inf", "-inf") read back as floats.
    public static var decoder: JSONDecoder {
        let d = JSONDecoder()
        d.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return d
    }

    /// Every line of a run's log as a record (`TrainingRun` writes them).
    public static func records(in url: URL) throws -> [TrainingLogRecord] {
        try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map { try decoder.decode(TrainingLogRecord.self, from: Data($0.utf8)) }
    }

    public func append<T: Encodable>(_ value: T) throws { handle.write(try encoder.encode(value) + Data("\n".utf8)) }
    public func close() { try? handle.close() }

    /// Reads back one numeric field per line against another (e.g. a loss against "step"), skipping
    /// lines without both (or with a non-finite value) — the points of a loss curve.
    public static func series(in url: URL, x: String, y: String) -> [(Int, Float)] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let s = number(in: line, key: x), let v = number(in: line, key: y) else { return nil }
            return (Int(s), Float(v))
        }
    }

    private static func number(in line: Substring, key: String) -> Double? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else { return nil }
        return (object[key] as? NSNumber)?.doubleValue
    }
}
