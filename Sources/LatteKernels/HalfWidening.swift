/// IEEE half → float widening, shared by the tensor library (f16 storage) and the file formats
/// (safetensors and GGUF f16 tensors, the f16 prompt-cache file).
public enum HalfWidening {
    /// Widens `count` little-endian IEEE halves at `source` (any alignment) to floats, exactly (every
    /// half is a float). Written on the bits without branches — re-bias the exponent, then select the
    /// Inf/NaN and subnormal fixes — so LLVM vectorises it: `Float(Float16)` is a library call per
    /// element on baseline x86-64, which has no F16C.
    public static func widen(_ source: UnsafeRawPointer, count: Int, into destination: UnsafeMutablePointer<Float>) {
        let magic = Float(bitPattern: 113 << 23)
        for i in 0..<count {
            let h = UInt32(UInt16(littleEndian: source.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
            var o = (h & 0x7fff) &<< 13
            let exponent = o & (0x7c00 << 13)
            o &+= (127 - 15) << 23
            o = exponent == 0x7c00 << 13 ? o &+ ((128 - 16) << 23) : o
            let renormalised = (Float(bitPattern: o &+ (1 << 23)) - magic).bitPattern
            o = exponent == 0 ? renormalised : o
            destination[i] = Float(bitPattern: o | ((h & 0x8000) &<< 16))
        }
    }
}
