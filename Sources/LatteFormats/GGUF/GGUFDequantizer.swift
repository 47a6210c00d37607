import LatteKernels

/// Turns ggml's stored blocks into Float32.
///
/// Block layouts (ggml's definitions; all little-endian, `f16` = IEEE half):
/// - Q8_0, 32 values in 34 bytes: f16 d, int8 q[32];                    x = d·q
/// - Q4_0, 32 values in 18 bytes: f16 d, u8 qs[16];                      x = d·(q − 8)
/// - Q4_1, 32 values in 20 bytes: f16 d, f16 m, u8 qs[16];               x = d·q + m
///   (4-bit blocks: the low nibble of qs[j] is value j, the high nibble value j + 16)
/// - Q4_K, 256 values in 144 bytes: f16 d, f16 dmin, u8 scales[12], u8 qs[128]; eight 32-value
///   sub-blocks with 6-bit scale s and 6-bit min m packed into `scales`; x = (d·s)·q − dmin·m.
///   qs is four 32-byte chunks, each holding sub-block 2c in its low nibbles and 2c + 1 in its high.
/// - Q6_K, 256 values in 210 bytes: u8 ql[128], u8 qh[64], int8 scales[16], f16 d; x = (d·s)·(q − 32)
///   with q = 4 low bits from ql and 2 high bits from qh, one scale per 16 values.
///
/// The arithmetic follows the reference order (no fused multiply-add), so results equal the `gguf`
/// Python package's bit for bit.
public enum GGUFDequantizer {
    /// Writes `elementCount` Float32 values decoded from `source` (which holds
    /// `elementCount / type.blockElements` whole blocks) to `destination`.
    /// Precondition: `type.isDequantizable` and `elementCount` is a multiple of the block size.
    public static func dequantize(_ type: GGMLType, from source: UnsafeRawPointer, elementCount: Int,
                                  into destination: UnsafeMutablePointer<Float>) {
        precondition(type.isDequantizable, "no dequantiser for \(type)")
        precondition(elementCount % type.blockElements == 0, "\(elementCount) is not a whole number of \(type) blocks")
        let blocks = elementCount / type.blockElements
        switch type {
        case .f32: UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: elementCount * 4)
        case .f16: HalfWidening.widen(source, count: elementCount, into: destination)
        case .bf16: convertBF16(source, count: elementCount, destination)
        case .q8_0: dequantizeQ8_0(source, blocks: blocks, destination)
        case .q4_0: dequantizeQ4_0(source, blocks: blocks, destination)
        case .q4_1: dequantizeQ4_1(source, blocks: blocks, destination)
        case .q4_K: dequantizeQ4_K(source, blocks: blocks, destination)
        case .q6_K: dequantizeQ6_K(source, blocks: blocks, destination)
        default: preconditionFailure("no dequantiser for \(type)")
        }
    }

    // MARK: Conversions

    @inline(__always)
    static func half(_ p: UnsafeRawPointer, _ offset: Int) -> Float {
        halfToFloat(p.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian)
    }

    /// IEEE half → single: re-bias the exponent, then fix the two special exponents (all ones:
    /// Inf/NaN; zero: subnormals, renormalised by one float subtraction). Swift's `Float(Float16)`
    /// is a library call on baseline x86-64 (no F16C assumed), which cost more than a whole block.
    @inline(__always)
    static func halfToFloat(_ bits: UInt16) -> Float {
        let h = UInt32(bits)
        var o = (h & 0x7fff) &<< 13
        let exponent = o & (0x7c00 << 13)
        o &+= (127 - 15) << 23
        if exponent == 0x7c00 << 13 {
            o &+= (128 - 16) << 23
        } else if exponent == 0 {
            o = (Float(bitPattern: o &+ (1 << 23)) - Float(bitPattern: 113 << 23)).bitPattern
        }
        return Float(bitPattern: o | ((h & 0x8000) &<< 16))
    }

    /// bfloat16 is the top half of a float32.
    static func convertBF16(_ src: UnsafeRawPointer, count: Int, _ dst: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            dst[i] = Float(bitPattern: UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) &<< 16)
        }
    }

    // The kernels below are plain fixed-count loops over bytes: LLVM unrolls and vectorises them
    // (widen, convert, multiply), where the generic SIMD integer→float initialisers stay library calls.

    // MARK: 32-value blocks

    static func dequantizeQ8_0(_ src: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 34
            let y = dst + b * 32
            let d = half(p, 0)
            let q = (p + 2).assumingMemoryBound(to: Int8.self)
            for j in 0..<32 { y[j] = d * Float(q[j]) }
        }
    }

    static func dequantizeQ4_0(_ src: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 18
            let y = dst + b * 32
            let d = half(p, 0)
            let qs = (p + 2).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                y[j] = d * Float(Int32(qs[j] & 0x0f) - 8)
                y[j + 16] = d * Float(Int32(qs[j] >> 4) - 8)
            }
        }
    }

    static func dequantizeQ4_1(_ src: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 20
            let y = dst + b * 32
            let d = half(p, 0), m = half(p, 2)
            let qs = (p + 4).assumingMemoryBound(to: UInt8.self)
            for j in 0..<16 {
                y[j] = d * Float(qs[j] & 0x0f) + m
                y[j + 16] = d * Float(qs[j] >> 4) + m
            }
        }
    }

    // MARK: 256-value super-blocks

    /// The 6-bit scale and min of Q4_K sub-block `j` (0..<8) from the 12 packed bytes: sub-blocks 0–3
    /// keep theirs in the low six bits of bytes j and j + 4; sub-blocks 4–7 take four low bits from
    /// byte j + 4 and their top two bits from the spare high bits of bytes j − 4 and j.
    @inline(__always)
    static func q4KScaleMin(_ s: UnsafeRawPointer, _ j: Int) -> (scale: UInt8, min: UInt8) {
        let q = s.assumingMemoryBound(to: UInt8.self)
        if j < 4 { return (q[j] & 63, q[j + 4] & 63) }
        return ((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4), (q[j + 4] >> 4) | ((q[j] >> 6) << 4))
    }

    static func dequantizeQ4_K(_ src: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 144
            let y = dst + b * 256
            let d = half(p, 0)
            let dmin = half(p, 2)
            let scales = p + 4
            for chunk in 0..<4 {
                let lo = q4KScaleMin(scales, 2 * chunk)
                let hi = q4KScaleMin(scales, 2 * chunk + 1)
                let d1 = d * Float(lo.scale), m1 = dmin * Float(lo.min)
                let d2 = d * Float(hi.scale), m2 = dmin * Float(hi.min)
                let qs = (p + 16 + 32 * chunk).assumingMemoryBound(to: UInt8.self)
                let out = y + 64 * chunk
                for l in 0..<32 {
                    out[l] = d1 * Float(qs[l] & 0x0f) - m1
                    out[l + 32] = d2 * Float(qs[l] >> 4) - m2
                }
            }
        }
    }

    static func dequantizeQ6_K(_ src: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 210
            let y = dst + b * 256
            let d = half(p, 208)
            let scales = (p + 192).assumingMemoryBound(to: Int8.self)
            for half in 0..<2 {
                let ql = (p + 64 * half).assumingMemoryBound(to: UInt8.self)
                let qh = (p + 128 + 32 * half).assumingMemoryBound(to: UInt8.self)
                let sc = scales + 8 * half
                let out = y + 128 * half
                for part in 0..<2 {  // one scale per 16 values; group g of 32 adds 2g
                    let s0 = d * Float(sc[part]), s1 = d * Float(sc[part + 2])
                    let s2 = d * Float(sc[part + 4]), s3 = d * Float(sc[part + 6])
                    for l in 16 * part..<16 * part + 16 {
                        let h = qh[l]
                        out[l] = s0 * Float(Int32((ql[l] & 0x0f) | ((h & 0x03) << 4)) - 32)
                        out[l + 32] = s1 * Float(Int32((ql[l + 32] & 0x0f) | (((h >> 2) & 0x03) << 4)) - 32)
                        out[l + 64] = s2 * Float(Int32((ql[l] >> 4) | (((h >> 4) & 0x03) << 4)) - 32)
                        out[l + 96] = s3 * Float(Int32((ql[l + 32] >> 4) | ((h >> 6) << 4)) - 32)
                    }
                }
            }
        }
    }
}
