// Driver of the direct 3×3 convolution (CLatteKernels/conv3x3_template.h): stride 1, padding 1,
// one group. Used by conv2d for small channel counts, where unfolding into GEMM panels costs as
// much as the multiply (docs/autoencoders.md). The variant follows the vector-math selection.
import CLatteKernels

public enum DirectConv3x3 {
    /// Output channels computed together by `variant`'s register tile.
    public static func block(_ variant: VectorMath.Variant = VectorMath.variant) -> Int {
        Int(latte_conv3x3_block(variant.rawValue))
    }

    /// out [n, o, h, w] = conv(x [n, c, h, w], weight [o, c, 3, 3]) + bias [o], padding 1.
    /// Images run in parallel; with fewer images than threads, (image, channel block) pairs do.
    public static func forward(x: UnsafePointer<Float>, n: Int, c: Int, h: Int, w: Int,
                               weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?, o: Int,
                               out: UnsafeMutablePointer<Float>,
                               variant: VectorMath.Variant = VectorMath.variant) {
        precondition(variant.isSupported, "DirectConv3x3: variant \(variant) is not supported on this CPU")
        // Rows of ≤ 8 pixels (8×8 latents) would leave half of every 16-lane vector empty; the 8-lane
        // tiles fill theirs (and on cores that split 512-bit FMAs in two, lose nothing per lane).
        let variant = variant == .avx512 && w <= 8 && VectorMath.Variant.avx2.isSupported ? .avx2 : variant
        let v = variant.rawValue
        let ob = block(variant), blocks = (o + ob - 1) / ob
        let packed = UnsafeMutablePointer<Float>.allocate(capacity: blocks * ob * c * 9)
        defer { packed.deallocate() }
        latte_conv3x3_pack(v, weight, o, c, packed)
        let padded = c * (h + 2) * (w + 2)
        let threads = Parallel.isInsideParallelRegion ? 1 : Parallel.threadCount
        if threads == 1 || n >= 2 * threads {
            // One task per image: its padded copy stays in this thread's cache for every block.
            let work: (Int) -> Void = { i in
                let xp = GemmPackedB.scratch(slot: 1, count: padded)
                latte_conv3x3_pad(x + i * c * h * w, c, h, w, xp)
                let dst = out + i * o * h * w
                for blk in 0..<blocks { latte_conv3x3_run(v, xp, c, h, w, packed, bias, o, blk, dst) }
            }
            if threads == 1 { for i in 0..<n { work(i) } } else { Parallel.forEach(n, work) }
            return
        }
        let xp = UnsafeMutablePointer<Float>.allocate(capacity: n * padded)
        defer { xp.deallocate() }
        Parallel.forEach(n) { i in latte_conv3x3_pad(x + i * c * h * w, c, h, w, xp + i * padded) }
        Parallel.forEach(n * blocks) { t in
            let (i, blk) = t.quotientAndRemainder(dividingBy: blocks)
            latte_conv3x3_run(v, xp + i * padded, c, h, w, packed, bias, o, blk, out + i * o * h * w)
        }
    }
}
