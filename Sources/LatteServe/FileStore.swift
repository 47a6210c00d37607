import Foundation

/// Images made with `response_format: url`, served at `/v1/files/{name}` until they expire. Kept in
/// memory: they are small PNGs, and a restart forgetting them is what "for a limited time" allows.
final class FileStore: @unchecked Sendable {
    private struct Entry {
        let bytes: [UInt8]
        let expires: Date
    }

    let lifetime: TimeInterval
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    init(lifetime: TimeInterval) { self.lifetime = lifetime }

    /// Stores a PNG; returns its file name.
    func add(png: [UInt8]) -> String {
        let name = "img_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() + ".png"
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        entries = entries.filter { $0.value.expires > now }
        entries[name] = Entry(bytes: png, expires: now.addingTimeInterval(lifetime))
        return name
    }

    func get(_ name: String) -> [UInt8]? {
        lock.lock()
        defer { lock.unlock() }
        guard let e = entries[name], e.expires > Date() else { entries[name] = nil; return nil }
        return e.bytes
    }
}
