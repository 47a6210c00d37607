import Foundation
import LatteTensor

/// Errors reading a TorchScript archive or converting its weights; each names the file and the problem.
public struct TorchArchiveError: Error, CustomStringConvertible, LocalizedError {
    public let file: String
    public let message: String

    public init(file: String, _ message: String) {
        self.file = file
        self.message = message
    }

    public var description: String { "\(file): \(message)" }
    public var errorDescription: String? { description }
}

/// A read-only view of a zip archive whose needed entries are stored uncompressed, as PyTorch writes
/// tensor data (method 0, 64-byte aligned) so it can be memory-mapped. Compressed entries (TorchScript's
/// `code/` files) are listed but cannot be read, which is all the weight conversion needs.
///
/// Sizes and offsets come from the central directory (PyTorch sets the data-descriptor flag, so the
/// local headers hold zeros), with the zip64 end record and extra fields when present.
public final class StoredZipArchive {
    public struct Entry: Sendable {
        public let name: String
        public let method: UInt16
        public let compressedSize: Int
        public let size: Int
        let localHeaderOffset: Int
    }

    public let url: URL
    public let entries: [String: Entry]
    public let names: [String]
    let file: MappedFile

    public init(url: URL) throws {
        self.url = url
        file = try MappedFile(url: url)
        let path = url.path
        let bytes = UnsafeRawBufferPointer(start: file.base, count: file.size)
        func fail(_ message: String) -> TorchArchiveError { TorchArchiveError(file: path, message) }
        func u16(_ at: Int) throws -> Int {
            guard at >= 0, at + 2 <= bytes.count else { throw fail("truncated zip structure at byte \(at)") }
            return Int(bytes[at]) | Int(bytes[at + 1]) << 8
        }
        func u32(_ at: Int) throws -> Int { let lo = try u16(at), hi = try u16(at + 2); return lo | hi << 16 }
        func u64(_ at: Int) throws -> Int {
            let lo = try u32(at), hi = try u32(at + 4)
            let v = UInt64(lo) | UInt64(hi) << 32
            guard v < UInt64(Int.max) else { throw fail("zip64 value out of range at byte \(at)") }
            return Int(v)
        }

        // End of central directory: the last "PK\5\6" within the final 64 KiB + 22 bytes.
        var eocd = -1
        var i = bytes.count - 22
        while i >= max(0, bytes.count - 22 - 65_535) {
            if bytes[i] == 0x50, bytes[i + 1] == 0x4B, bytes[i + 2] == 5, bytes[i + 3] == 6 { eocd = i; break }
            i -= 1
        }
        guard eocd >= 0 else { throw fail("not a zip archive (no end-of-central-directory record)") }
        var count = try u16(eocd + 10)
        var cdSize = try u32(eocd + 12)
        var cdOffset = try u32(eocd + 16)
        // Zip64: the locator sits 20 bytes before the classic record and points at the zip64 record.
        if eocd >= 20, try u32(eocd - 20) == 0x0706_4B50 {
            let record = try u64(eocd - 20 + 8)
            guard try u32(record) == 0x0606_4B50 else { throw fail("zip64 end record missing at byte \(record)") }
            count = try u64(record + 32)
            cdSize = try u64(record + 40)
            cdOffset = try u64(record + 48)
        }
        guard cdOffset + cdSize <= bytes.count else { throw fail("central directory (\(cdSize) bytes at \(cdOffset)) lies past the end of the file") }

        var entries: [String: Entry] = [:]
        var names: [String] = []
        var p = cdOffset
        for _ in 0..<count {
            guard try u32(p) == 0x0201_4B50 else { throw fail("bad central directory entry at byte \(p)") }
            let method = UInt16(try u16(p + 10))
            var compressed = try u32(p + 20), size = try u32(p + 24)
            let nameLength = try u16(p + 28), extraLength = try u16(p + 30), commentLength = try u16(p + 32)
            var local = try u32(p + 42)
            guard p + 46 + nameLength + extraLength <= bytes.count else { throw fail("truncated central directory entry at byte \(p)") }
            let name = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[(p + 46)..<(p + 46 + nameLength)]), as: UTF8.self)
            // Zip64 extra field (id 1): the 64-bit values appear in order for each field saturated at 0xFFFFFFFF.
            var e = p + 46 + nameLength
            let extraEnd = e + extraLength
            while e + 4 <= extraEnd {
                let id = try u16(e), length = try u16(e + 2)
                if id == 1 {
                    var q = e + 4
                    if size == 0xFFFF_FFFF { size = try u64(q); q += 8 }
                    if compressed == 0xFFFF_FFFF { compressed = try u64(q); q += 8 }
                    if local == 0xFFFF_FFFF { local = try u64(q); q += 8 }
                }
                e += 4 + length
            }
            entries[name] = Entry(name: name, method: method, compressedSize: compressed, size: size, localHeaderOffset: local)
            names.append(name)
            p += 46 + nameLength + extraLength + commentLength
        }
        self.entries = entries
        self.names = names
    }

    /// The bytes of a stored (uncompressed) entry, valid while the archive is alive.
    public func storedBytes(_ name: String) throws -> UnsafeRawBufferPointer {
        guard let entry = entries[name] else { throw TorchArchiveError(file: url.path, "has no entry '\(name)'") }
        guard entry.method == 0 else {
            throw TorchArchiveError(file: url.path, "entry '\(name)' is compressed (method \(entry.method)); only stored entries can be read")
        }
        let bytes = UnsafeRawBufferPointer(start: file.base, count: file.size)
        let h = entry.localHeaderOffset
        guard h + 30 <= bytes.count, bytes.load(fromByteOffset: h, as: UInt8.self) == 0x50,
              bytes[h + 1] == 0x4B, bytes[h + 2] == 3, bytes[h + 3] == 4 else {
            throw TorchArchiveError(file: url.path, "entry '\(name)': no local header at byte \(h)")
        }
        let nameLength = Int(bytes[h + 26]) | Int(bytes[h + 27]) << 8
        let extraLength = Int(bytes[h + 28]) | Int(bytes[h + 29]) << 8
        let start = h + 30 + nameLength + extraLength
        guard start + entry.size <= bytes.count else {
            throw TorchArchiveError(file: url.path, "entry '\(name)' (\(entry.size) bytes at \(start)) runs past the end of the file")
        }
        return UnsafeRawBufferPointer(rebasing: bytes[start..<(start + entry.size)])
    }
}
