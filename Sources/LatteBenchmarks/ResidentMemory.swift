import Foundation

/// The process's resident memory as Linux reports it in /proc/self/status (VmRSS, and VmHWM, its
/// high-water mark), with getrusage's ru_maxrss where /proc is absent.
///
/// What it is and is not: resident pages of the whole process — weights, optimiser state, activations,
/// the allocator's free lists that it has not returned to the system, thread stacks, touched mapped
/// files. Pages reserved but never written (a zero-initialised buffer not yet touched) do not count,
/// and a peak shorter than the kernel's RSS accounting granularity can be missed. It is what decides
/// whether a run fits in a machine's RAM, not a count of live tensor bytes.
public enum ResidentMemory {
    /// The current resident set in bytes (VmRSS); nil when /proc/self/status is unreadable.
    public static func currentBytes() -> Int? { statusField("VmRSS") }

    /// The resident set's high-water mark in bytes: VmHWM, or getrusage's ru_maxrss (never reset).
    public static func peakBytes() -> Int? {
        if let hwm = statusField("VmHWM") { return hwm }
        var usage = rusage()
        guard getrusage(RUSAGE_SELF.rawValue, &usage) == 0 else { return nil }
        return Int(usage.ru_maxrss) * 1024   // kilobytes on Linux
    }

    /// Resets the high-water mark to the current resident set (Linux ≥ 4.0: "5" written to
    /// /proc/self/clear_refs), so the next `peakBytes()` is the peak since now. Returns false when the
    /// kernel refused; the peak then stays the process's peak since it started.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do { try handle.write(contentsOf: Data("5".utf8)) } catch { return false }
        return true
    }

    /// A "Name:   1234 kB" line of /proc/self/status, in bytes.
    static func statusField(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let kb = Int(fields[1]) else { return nil }
            return kb * 1024
        }
        return nil
    }
}
