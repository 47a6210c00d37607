/// A cursor over the mapped bytes of a GGUF file in which every read is checked against the end first,
/// so a lying header field becomes a thrown error, never an out-of-bounds read.
struct GGUFByteReader {
    let base: UnsafeRawPointer
    let count: Int
    let path: String
    private(set) var position: Int = 0

    init(base: UnsafeRawPointer, count: Int, path: String) {
        self.base = base
        self.count = count
        self.path = path
    }

    var remaining: Int { count - position }

    func fail(_ kind: GGUFError.Kind, _ message: String) -> GGUFError {
        GGUFError(kind, path: path, message)
    }

    mutating func need(_ n: Int, _ what: @autoclosure () -> String) throws {
        if n < 0 || n > remaining {
            throw fail(.truncated, "truncated: \(what()) needs \(n) bytes at offset \(position), file has \(count) bytes")
        }
    }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws -> T {
        try need(MemoryLayout<T>.size, what())
        let v = base.loadUnaligned(fromByteOffset: position, as: T.self)
        position += MemoryLayout<T>.size
        return T(littleEndian: v)
    }

    mutating func readFloat(_ what: @autoclosure () -> String) throws -> Float {
        Float(bitPattern: try read(UInt32.self, what()))
    }

    mutating func readDouble(_ what: @autoclosure () -> String) throws -> Double {
        Double(bitPattern: try read(UInt64.self, what()))
    }

    /// A count stored as uint64, refused when it is larger than the bytes left could hold with each
    /// item taking at least `minimumItemBytes` (so nothing is ever allocated from an unchecked count).
    mutating func readCount(minimumItemBytes: Int, _ what: @autoclosure () -> String) throws -> Int {
        let at = position
        let raw = try read(UInt64.self, what())
        let limit = UInt64(remaining / max(minimumItemBytes, 1))
        guard raw <= limit else {
            throw fail(.absurdCount, "\(what()) at offset \(at) is \(raw), but only \(remaining) bytes follow (at most \(limit) fit)")
        }
        return Int(raw)
    }

    /// A GGUF string: uint64 byte length then UTF-8 bytes (no terminator). Invalid UTF-8 is repaired
    /// with U+FFFD rather than refused, as llama.cpp does not validate either.
    mutating func readString(maxLength: Int, _ what: @autoclosure () -> String) throws -> String {
        let at = position
        let raw = try read(UInt64.self, what() + " length")
        guard raw <= UInt64(maxLength) else {
            throw fail(.badString, "\(what()) at offset \(at) claims \(raw) bytes, more than the \(maxLength)-byte limit")
        }
        let n = Int(raw)
        try need(n, what())
        let bytes = UnsafeRawBufferPointer(start: base + position, count: n)
        position += n
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func skip(to newPosition: Int) {
        position = newPosition
    }
}
