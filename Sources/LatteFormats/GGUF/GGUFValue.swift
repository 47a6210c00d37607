/// One metadata value of a GGUF file, typed as the file declares it.
///
/// Value type codes (GGUF spec): 0 uint8, 1 int8, 2 uint16, 3 int16, 4 uint32, 5 int32, 6 float32, 7 bool,
/// 8 string, 9 array, 10 uint64, 11 int64, 12 float64. Arrays hold one element type and may nest.
public enum GGUFValue: Equatable, Sendable {
    case uint8(UInt8)
    case int8(Int8)
    case uint16(UInt16)
    case int16(Int16)
    case uint32(UInt32)
    case int32(Int32)
    case float32(Float)
    case bool(Bool)
    case string(String)
    /// `elementType` is kept so an empty array still says what it would hold.
    case array(elementType: GGUFValueType, [GGUFValue])
    case uint64(UInt64)
    case int64(Int64)
    case float64(Double)

    /// Any integer type as `Int`, when it fits (a uint64 above `Int.max` gives nil).
    public var int: Int? {
        switch self {
        case .uint8(let v): return Int(v)
        case .int8(let v): return Int(v)
        case .uint16(let v): return Int(v)
        case .int16(let v): return Int(v)
        case .uint32(let v): return Int(v)
        case .int32(let v): return Int(v)
        case .uint64(let v): return Int(exactly: v)
        case .int64(let v): return Int(v)
        default: return nil
        }
    }

    /// Any numeric value (integer or floating) as `Double`.
    public var double: Double? {
        switch self {
        case .float32(let v): return Double(v)
        case .float64(let v): return v
        default: return int.map(Double.init)
        }
    }

    /// Floating values as `Float`; integers are converted too.
    public var float: Float? { double.map(Float.init) }

    public var bool: Bool? {
        if case .bool(let v) = self { return v }
        return nil
    }

    public var string: String? {
        if case .string(let v) = self { return v }
        return nil
    }

    public var array: [GGUFValue]? {
        if case .array(_, let v) = self { return v }
        return nil
    }

    /// An array of strings (e.g. `tokenizer.ggml.tokens`); nil if this is not an array of strings.
    public var strings: [String]? {
        guard case .array(let t, let v) = self, t == .string else { return nil }
        return v.map { $0.string! }
    }

    /// An array of integers of any width as `[Int]` (e.g. `tokenizer.ggml.token_type`).
    public var ints: [Int]? {
        guard case .array(_, let v) = self else { return nil }
        var out = [Int]()
        out.reserveCapacity(v.count)
        for e in v {
            guard let i = e.int else { return nil }
            out.append(i)
        }
        return out
    }

    /// An array of numbers as `[Float]` (e.g. `tokenizer.ggml.scores`).
    public var floats: [Float]? {
        guard case .array(_, let v) = self else { return nil }
        var out = [Float]()
        out.reserveCapacity(v.count)
        for e in v {
            guard let f = e.float else { return nil }
            out.append(f)
        }
        return out
    }

    public var type: GGUFValueType {
        switch self {
        case .uint8: return .uint8
        case .int8: return .int8
        case .uint16: return .uint16
        case .int16: return .int16
        case .uint32: return .uint32
        case .int32: return .int32
        case .float32: return .float32
        case .bool: return .bool
        case .string: return .string
        case .array: return .array
        case .uint64: return .uint64
        case .int64: return .int64
        case .float64: return .float64
        }
    }
}

public enum GGUFValueType: UInt32, Sendable, CaseIterable {
    case uint8 = 0, int8 = 1, uint16 = 2, int16 = 3, uint32 = 4, int32 = 5, float32 = 6, bool = 7
    case string = 8, array = 9, uint64 = 10, int64 = 11, float64 = 12

    /// Bytes of one encoded value, nil for variable-size types (string, array).
    var fixedSize: Int? {
        switch self {
        case .uint8, .int8, .bool: return 1
        case .uint16, .int16: return 2
        case .uint32, .int32, .float32: return 4
        case .uint64, .int64, .float64: return 8
        case .string, .array: return nil
        }
    }

    /// The fewest bytes one value can take, used to bound counts read from the header before allocating.
    var minimumEncodedSize: Int { fixedSize ?? (self == .string ? 8 : 12) }
}

extension GGUFValue: CustomStringConvertible {
    public var description: String {
        switch self {
        case .uint8(let v): return "\(v)"
        case .int8(let v): return "\(v)"
        case .uint16(let v): return "\(v)"
        case .int16(let v): return "\(v)"
        case .uint32(let v): return "\(v)"
        case .int32(let v): return "\(v)"
        case .float32(let v): return "\(v)"
        case .bool(let v): return "\(v)"
        case .string(let v): return "\"\(v)\""
        case .uint64(let v): return "\(v)"
        case .int64(let v): return "\(v)"
        case .float64(let v): return "\(v)"
        case .array(let t, let v):
            let head = v.prefix(8).map(\.description).joined(separator: ", ")
            return "[\(t)×\(v.count)\(v.isEmpty ? "" : ": ")\(head)\(v.count > 8 ? ", …" : "")]"
        }
    }
}
