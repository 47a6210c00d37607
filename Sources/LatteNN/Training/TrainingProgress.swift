import Foundation

/// A one-line progress bar for long runs on stderr (training, latent encoding, sampling): step/total,
/// a bar, the latest values, it/s and ETA. On a terminal it redraws in place; otherwise (logs, CI) it
/// prints a plain line every 10 s so the output stays readable.
public struct TrainingProgress {
    public let total: Int
    public let label: String
    private let start = Date()
    private let startStep: Int
    private let interactive = isatty(fileno(stderr)) != 0
    private var lastPrinted = Date.distantPast

    public init(total: Int, startingAt step: Int = 0, label: String) {
        self.total = total
        self.startStep = step
        self.label = label
    }

    /// Reports that `step` of `total` is done; `fields` are shown as "name value" pairs.
    public mutating func update(step: Int, fields: [(String, String)]) {
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

    public static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, (s % 3600) / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
