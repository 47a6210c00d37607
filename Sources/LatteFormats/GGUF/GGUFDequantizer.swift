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
        case .f16: convertF16(source, count: elementCount, destination)
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
        Float(Float16(bitPattern: p.loadUnaligned(fromByteOffset: offset, as: UInt16.self).littleEndian))
    }

    /// IEEE half → single on sixteen lanes with integer operations: re-bias the exponent, then fix
    /// the two special exponents (all ones: Inf/NaN; zero: subnormals, renormalised by a float
    /// subtraction). Avoids a library call per element when the compiler may not assume F16C.
    @inline(__always)
    static func halfToFloat(_ h: SIMD16<UInt32>) -> SIMD16<Float> {
        let shiftedExponent = SIMD16<UInt32>(repeating: 0x7c00 << 13)
        var o = (h & 0x7fff) &<< 13
        let exponent = o & shiftedExponent
        o &+= SIMD16(repeating: (127 - 15) << 23)
        o.replace(with: o &+ SIMD16(repeating: (128 - 16) << 23), where: exponent .== shiftedExponent)
        let magic = SIMD16<Float>(repeating: Float(bitPattern: 113 << 23))
        let renormalised = unsafeBitCast(o &+ SIMD16(repeating: 1 << 23), to: SIMD16<Float>.self) - magic
        o.replace(with: unsafeBitCast(renormalised, to: SIMD16<UInt32>.self), where: exponent .== 0)
        o |= (h & 0x8000) &<< 16
        return unsafeBitCast(o, to: SIMD16<Float>.self)
    }

    static func convertF16(_ src: UnsafeRawPointer, count: Int, _ dst: UnsafeMutablePointer<Float>) {
        var i = 0
        while i + 16 <= count {
            let h = SIMD16<UInt32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self))
            UnsafeMutableRawPointer(dst + i).storeBytes(of: halfToFloat(h), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            dst[i] = half(src, 2 * i)
            i += 1
        }
    }

    static func convertBF16(_ src: UnsafeRawPointer, count: Int, _ dst: UnsafeMutablePointer<Float>) {
        // bfloat16 is the top half of a float32.
        var i = 0
        while i + 16 <= count {
            let h = SIMD16<UInt32>(truncatingIfNeeded: src.loadUnaligned(fromByteOffset: 2 * i, as: SIMD16<UInt16>.self))
            UnsafeMutableRawPointer(dst + i).storeBytes(of: unsafeBitCast(h &<< 16, to: SIMD16<Float>.self), as: SIMD16<Float>.self)
            i += 16
        }
        while i < count {
            dst[i] = Float(bitPattern: UInt32(src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) << 16)
            i += 1
        }
    }

    @inline(__always)
    static func store(_ v: SIMD16<Float>, _ dst: UnsafeMutablePointer<Float>) {
        UnsafeMutableRawPointer(dst).storeBytes(of: v, as: SIMD16<Float>.self)
    }

    @inline(__always)
    static func floats(_ v: SIMD16<UInt8>) -> SIMD16<Float> {
        SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: v))
    }

    @inline(__always)
    static func floats(_ v: SIMD16<Int8>) -> SIMD16<Float> {
        SIMD16<Float>(SIMD16<Int32>(truncatingIfNeeded: v))
    }

    // MARK: 32-value blocks

    static func dequantizeQ8_0(_ src: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 34
            let y = dst + b * 32
            let d = SIMD16<Float>(repeating: half(p, 0))
            store(d * floats(p.loadUnaligned(fromByteOffset: 2, as: SIMD16<Int8>.self)), y)
            store(d * floats(p.loadUnaligned(fromByteOffset: 18, as: SIMD16<Int8>.self)), y + 16)
        }
    }

    static func dequantizeQ4_0(_ src: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        let eight = SIMD16<Float>(repeating: 8)
        for b in 0..<blocks {
            let p = src + b * 18
            let y = dst + b * 32
            let d = SIMD16<Float>(repeating: half(p, 0))
            let qs = p.loadUnaligned(fromByteOffset: 2, as: SIMD16<UInt8>.self)
            store(d * (floats(qs & 0x0f) - eight), y)
            store(d * (floats(qs &>> 4) - eight), y + 16)
        }
    }

    static func dequantizeQ4_1(_ src: UnsafeRawPointer, blocks: Int, _ dst: UnsafeMutablePointer<Float>) {
        for b in 0..<blocks {
            let p = src + b * 20
            let y = dst + b * 32
            let d = SIMD16<Float>(repeating: half(p, 0))
            let m = SIMD16<Float>(repeating: half(p, 2))
            let qs = p.loadUnaligned(fromByteOffset: 4, as: SIMD16<UInt8>.self)
            store(d * floats(qs & 0x0f) + m, y)
            store(d * floats(qs &>> 4) + m, y + 16)
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
                let d1 = SIMD16<Float>(repeating: d * Float(lo.scale)), m1 = SIMD16<Float>(repeating: dmin * Float(lo.min))
                let d2 = SIMD16<Float>(repeating: d * Float(hi.scale)), m2 = SIMD16<Float>(repeating: dmin * Float(hi.min))
                let out = y + 64 * chunk
                for half in 0..<2 {
                    let qs = p.loadUnaligned(fromByteOffset: 16 + 32 * chunk + 16 * half, as: SIMD16<UInt8>.self)
                    store(d1 * floats(qs & 0x0f) - m1, out + 16 * half)
                    store(d2 * floats(qs &>> 4) - m2, out + 32 + 16 * half)
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
                let ql = 64 * half, qh = 128 + 32 * half
                for part in 0..<2 {  // 16-value slices l = 16·part ..< 16·part + 16 of each 32-value group
                    let l = 16 * part
                    let qlA = p.loadUnaligned(fromByteOffset: ql + l, as: SIMD16<UInt8>.self)
                    let qlB = p.loadUnaligned(fromByteOffset: ql + 32 + l, as: SIMD16<UInt8>.self)
                    let h = p.loadUnaligned(fromByteOffset: qh + l, as: SIMD16<UInt8>.self)
                    let q0 = (qlA & 0x0f) | ((h & 0x03) &<< 4)
                    let q1 = (qlB & 0x0f) | (((h &>> 2) & 0x03) &<< 4)
                    let q2 = (qlA &>> 4) | (((h &>> 4) & 0x03) &<< 4)
                    let q3 = (qlB &>> 4) | ((h &>> 6) &<< 4)
                    let out = y + 128 * half + l
                    let s = 8 * half + part  // one scale per 16 values; group g adds 2g
                    store6(q0, d * Float(scales[s]), out)
                    store6(q1, d * Float(scales[s + 2]), out + 32)
                    store6(q2, d * Float(scales[s + 4]), out + 64)
                    store6(q3, d * Float(scales[s + 6]), out + 96)
                }
            }
        }
    }

    @inline(__always)
    static func store6(_ q: SIMD16<UInt8>, _ scale: Float, _ out: UnsafeMutablePointer<Float>) {
        let centred = SIMD16<Int8>(truncatingIfNeeded: q) &- 32
        store(SIMD16<Float>(repeating: scale) * floats(centred), out)
    }
}
