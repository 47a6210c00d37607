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
