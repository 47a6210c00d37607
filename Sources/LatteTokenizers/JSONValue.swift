/// A parsed JSON value. tokenizer.json is read with this small parser rather than JSONSerialization
/// because Foundation drops a leading U+FEFF from strings and Swift `String`-keyed dictionaries merge
/// canonically equivalent keys ("é" and "e\u{301}"), both of which would lose vocabulary entries.
/// Objects keep their keys in order, byte-exact.
enum JSONValue {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

struct JSONObject: Sequence {
    var pairs: [(key: String, value: JSONValue)]

    var count: Int { pairs.count }
    var isEmpty: Bool { pairs.isEmpty }

    /// The last value with this key (scalar-exact comparison).
    subscript(key: String) -> JSONValue? {
        for p in pairs.reversed() where p.key.utf8.elementsEqual(key.utf8) { return p.value }
        return nil
    }

    func makeIterator() -> IndexingIterator<[(key: String, value: JSONValue)]> { pairs.makeIterator() }
}

struct JSONParseError: Error, CustomStringConvertible {
    let offset: Int
    let message: String
    var description: String { "invalid JSON at byte \(offset): \(message)" }
}

/// A strict RFC 8259 parser over UTF-8 bytes with a nesting limit (hostile files cannot exhaust the stack).
struct JSONParser {
    private let b: UnsafeBufferPointer<UInt8>
    private var i = 0
    private let maxDepth = 64

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) throws -> JSONValue {
        var p = JSONParser(b: bytes)
        // Tolerate a UTF-8 byte-order mark at the very start of the file.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { p.i = 3 }
        p.skipSpace()
        let v = try p.value(depth: 0)
        p.skipSpace()
        guard p.i == bytes.count else { throw p.error("unexpected data after the document") }
        return v
    }

    private init(b: UnsafeBufferPointer<UInt8>) { self.b = b }

    private func error(_ m: String) -> JSONParseError { JSONParseError(offset: i, message: m) }

    private mutating func skipSpace() {
        while i < b.count, b[i] == 0x20 || b[i] == 0x0A || b[i] == 0x0D || b[i] == 0x09 { i += 1 }
    }

    private mutating func expectLiteral(_ lit: StaticString, _ v: JSONValue) throws -> JSONValue {
        let n = lit.utf8CodeUnitCount
        guard i + n <= b.count else { throw error("truncated literal") }
        for k in 0..<n where b[i + k] != lit.utf8Start[k] { throw error("invalid literal") }
        i += n
        return v
    }

    private mutating func value(depth: Int) throws -> JSONValue {
        guard depth < maxDepth else { throw error("nested deeper than \(maxDepth) levels") }
        guard i < b.count else { throw error("unexpected end of data (truncated file?)") }
        switch b[i] {
        case UInt8(ascii: "{"):
            i += 1
            var pairs: [(key: String, value: JSONValue)] = []
            skipSpace()
            if i < b.count && b[i] == UInt8(ascii: "}") { i += 1; return .object(JSONObject(pairs: pairs)) }
            while true {
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") else { throw error("expected a string key") }
                let k = try string()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
                i += 1
                skipSpace()
                pairs.append((k, try value(depth: depth + 1)))
                skipSpace()
                guard i < b.count else { throw error("unexpected end of data in an object (truncated file?)") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "}") { i += 1; return .object(JSONObject(pairs: pairs)) }
                throw error("expected ',' or '}'")
            }
        case UInt8(ascii: "["):
            i += 1
            var items: [JSONValue] = []
            skipSpace()
            if i < b.count && b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
            while true {
                skipSpace()
                items.append(try value(depth: depth + 1))
                skipSpace()
                guard i < b.count else { throw error("unexpected end of data in an array (truncated file?)") }
                if b[i] == UInt8(ascii: ",") { i += 1; continue }
                if b[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                throw error("expected ',' or ']'")
            }
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"): return try expectLiteral("true", .bool(true))
        case UInt8(ascii: "f"): return try expectLiteral("false", .bool(false))
        case UInt8(ascii: "n"): return try expectLiteral("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw error("unexpected character")
        }
    }

    private mutating func number() throws -> Double {
        let start = i
        if b[i] == UInt8(ascii: "-") { i += 1 }
        var digits = 0
        while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; digits += 1 }
        guard digits > 0 else { throw error("invalid number") }
        if i < b.count && b[i] == UInt8(ascii: ".") {
            i += 1
            var frac = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; frac += 1 }
            guard frac > 0 else { throw error("invalid number") }
        }
        if i < b.count && (b[i] == UInt8(ascii: "e") || b[i] == UInt8(ascii: "E")) {
            i += 1
            if i < b.count && (b[i] == UInt8(ascii: "+") || b[i] == UInt8(ascii: "-")) { i += 1 }
            var exp = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 { i += 1; exp += 1 }
            guard exp > 0 else { throw error("invalid number") }
        }
        guard i - start <= 64, let d = Double(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)) else {
            throw error("invalid number")
        }
        return d
    }

    private mutating func hex4() throws -> UInt32 {
        guard i + 4 <= b.count else { throw error("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = b[i]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw error("invalid \\u escape")
            }
            v = v << 4 | d
            i += 1
        }
        return v
    }

    private mutating func string() throws -> String {
        i += 1  // opening quote
        let start = i
        // Fast path: no escapes.
        while i < b.count, b[i] != UInt8(ascii: "\""), b[i] != UInt8(ascii: "\\") {
            guard b[i] >= 0x20 else { throw error("control character in a string") }
            i += 1
        }
        guard i < b.count else { throw error("unterminated string (truncated file?)") }
        if b[i] == UInt8(ascii: "\"") {
            defer { i += 1 }
            return try utf8(start..<i)
        }
        var bytes = Array(b[start..<i])
        while true {
            guard i < b.count else { throw error("unterminated string (truncated file?)") }
            let c = b[i]
            if c == UInt8(ascii: "\"") { i += 1; break }
            if c < 0x20 { throw error("control character in a string") }
            if c != UInt8(ascii: "\\") { bytes.append(c); i += 1; continue }
            i += 1
            guard i < b.count else { throw error("unterminated escape") }
            let e = b[i]
            i += 1
            switch e {
            case UInt8(ascii: "\""): bytes.append(0x22)
            case UInt8(ascii: "\\"): bytes.append(0x5C)
            case UInt8(ascii: "/"): bytes.append(0x2F)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "u"):
                var v = try hex4()
                if v >= 0xD800 && v < 0xDC00 {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard i + 2 <= b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                        throw error("unpaired surrogate in \\u escape")
                    }
                    i += 2
                    let lo = try hex4()
                    guard lo >= 0xDC00 && lo < 0xE000 else { throw error("unpaired surrogate in \\u escape") }
                    v = 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00)
                } else if v >= 0xDC00 && v < 0xE000 {
                    throw error("unpaired surrogate in \\u escape")
                }
                bytes.append(contentsOf: UTF8.encode(Unicode.Scalar(v)!)!)
            default: throw error("invalid escape")
            }
        }
        guard let s = String(validating: bytes, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
        return s
    }

    private func utf8(_ r: Range<Int>) throws -> String {
        let slice = UnsafeBufferPointer(rebasing: b[r])
        guard let s = String(validating: slice, as: UTF8.self) else { throw error("invalid UTF-8 in a string") }
        return s
    }
}
