import LatteKernels

/// Element types a tensor can be stored in. Compute is always float32: half-precision storage is
/// converted on use (weights kept as bf16 halve memory; see `Tensor.toFloat32()`).
public enum DType: String, Sendable, CaseIterable, Codable {
    case float32 = "F32"
    case float16 = "F16"
    case bfloat16 = "BF16"
    case int32 = "I32"
    case int64 = "I64"
    case uint8 = "U8"
    /// Signed bytes: the codes of row-wise int8 weights (`Int8RowwiseWeights`).
    case int8 = "I8"

    /// Bytes per element.
    public var size: Int {
        switch self {
        case .float32, .int32: return 4
        case .float16, .bfloat16: return 2
        case .int64: return 8
        case .uint8, .int8: return 1
        }
    }

    public var isFloatingPoint: Bool {
        switch self {
        case .float32, .float16, .bfloat16: return true
        default: return false
        }
    }
}

/// Scalar conversions between float32 and the half formats.
public enum HalfConversion {
    /// bfloat16 is the top 16 bits of a float32; round to nearest even, keep NaN a NaN.
    @inline(__always)
    public static func bfloat16Bits(_ x: Float) -> UInt16 {
        let bits = x.bitPattern
        if x.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x40) }
        let rounding: UInt32 = 0x7FFF + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    @inline(__always)
    public static func float(fromBFloat16 bits: UInt16) -> Float {
        Float(bitPattern: UInt32(bits) << 16)
    }

    @inline(__always)
    public static func float16Bits(_ x: Float) -> UInt16 { Float16(x).bitPattern }

    @inline(__always)
    public static func float(fromFloat16 bits: UInt16) -> Float { Float(Float16(bitPattern: bits)) }

    /// Widens `count` IEEE halves to floats, exactly (`HalfWidening`, vectorised).
    @inline(__always)
    public static func widenFloat16(_ src: UnsafePointer<UInt16>, count: Int, into dst: UnsafeMutablePointer<Float>) {
        HalfWidening.widen(UnsafeRawPointer(src), count: count, into: dst)
    }
}
