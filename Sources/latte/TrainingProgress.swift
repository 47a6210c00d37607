import Foundation

/// A one-line progress bar for long runs on stderr: step/total, a bar, the latest values, it/s and ETA.
/// On a terminal it redraws in place; otherwise (logs, CI) it prints a plain line every `every` calls
/// so the output stays readable.
struct TrainingProgress {
    let total: Int
    let label: String
    private let start = Date()
    private let startStep: Int
    private let interactive = isatty(fileno(stderr)) != 0
    private var lastPrinted = Date.distantPast

    init(total: Int, startingAt step: Int = 0, label: String) {
        self.total = total
        self.startStep = step
        self.label = label
    }

    /// Reports that `step` of `total` is done; `fields` are shown as "name value" pairs.
    mutating func update(step: Int, fields: [(String, String)]) {
        let now = Date()
        let finished = step >= total
        // Redraw at most 10×/s on a terminal, every 10 s in a log, always at the end.
        guard finished || now.timeIntervalSince(lastPrinted) >= (interactive ? 0.1 : 10) else { return }
        lastPrinted = now
        let elapsed = now.timeIntervalSince(start)
        let rate = Double(step - startStep) / Swift.max(elapsed, 1e-9)
        let eta = rate > 0 ? Double(total - step) / rate : 0
        let width = 24, filled = total > 0 ? Swift.min(width, width * step / total) : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let values = fields.map { "\($0.0) \($0.1)" }.joined(separator: "  ")
        let line = "\(label) \(step)/\(total) \(bar) \(values)  \(String(format: "%.2f", rate)) it/s  ETA \(Self.duration(eta))"
        FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + line + (interactive && !finished ? "" : "\n")).utf8))
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}

/// Appends JSON lines to a file, creating it when missing (a resumed run continues the same log).
struct JSONLinesLog {
    private let handle: FileHandle
    private let encoder = JSONEncoder()

    /// `resumingAt`: the step of the checkpoint being resumed. A killed run logged the steps after its
    /// last checkpoint, which the resumed run repeats; those lines are dropped first (rewritten by
    /// temp file and rename) so the log and its loss curve hold each step once.
    init(url: URL, resumingAt step: Int? = nil) throws {
        if let step, let text = try? String(contentsOf: url, encoding: .utf8) {
            let kept = text.split(separator: "\n").filter { line in
                guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let s = (obj["step"] as? NSNumber)?.intValue else { return true }
                return s <= step
            }
            let temporary = url.appendingPathExtension("partial")
            try Data(kept.map { $0 + "\n" }.joined().utf8).write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw CommandFailure("cannot replace \(url.path) with its trimmed copy (errno \(errno))")
            }
        }
        if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
        handle = try FileHandle(forWritingTo: url)
        handle.seekToEndOfFile()
        encoder.outputFormatting = [.sortedKeys]
    }

    func append<T: Encodable>(_ value: T) throws { handle.write(try encoder.encode(value) + Data("\n".utf8)) }
    func close() { try? handle.close() }

    /// Reads back one numeric field per line (e.g. to draw the loss curve of a resumed run).
    static func series(in url: URL, x: String, y: String) -> [(Int, Float)] {
        guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            guard let obj = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                  let s = (obj[x] as? NSNumber)?.intValue, let v = (obj[y] as? NSNumber)?.floatValue else { return nil }
            return (s, v)
        }
    }
}
