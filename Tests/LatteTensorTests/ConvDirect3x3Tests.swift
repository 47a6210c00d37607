import Foundation
import XCTest
import LatteKernels
@testable import LatteTensor

/// The direct 3×3 convolution (CLatteKernels/conv3x3_template.h, DirectConv3x3.swift): every variant
/// this CPU runs against a float64 loop, on shapes that cut its register tiles (output-channel blocks
/// of 2–4, row tiles of 2–5, 8- or 16-lane column vectors) into every kind of tail; conv2d's routing
/// to it; and a same-process A/B timing against the implicit-GEMM path on the small autoencoder's
/// convs.
final class ConvDirect3x3Tests: XCTestCase {
    struct Shape { let n, c, h, w, o: Int }

    let shapes = [
        Shape(n: 1, c: 1, h: 1, w: 1, o: 1),      // one pixel: every tap but the centre is padding
        Shape(n: 2, c: 3, h: 5, w: 9, o: 7),      // partial column vector, odd channel block
        Shape(n: 1, c: 5, h: 16, w: 16, o: 4),    // full 16-lane rows, one row tile tail
        Shape(n: 3, c: 2, h: 7, w: 17, o: 33),    // one lane past a vector, 33 outputs
        Shape(n: 1, c: 17, h: 11, w: 33, o: 3),   // two vectors and one lane, rows 11 = 2·5 + 1
        Shape(n: 2, c: 32, h: 8, w: 8, o: 32),    // the 8×8 latent shape
        Shape(n: 1, c: 4, h: 2, w: 40, o: 6),     // fewer rows than a tile
        Shape(n: 4, c: 6, h: 9, w: 3, o: 5),      // narrow
    ]

    func reference(_ s: Shape, x: [Float], w: [Float], b: [Float]?) -> (y: [Double], scale: [Double]) {
        var y = [Double](repeating: 0, count: s.n * s.o * s.h * s.w), scale = y
        for ni in 0..<s.n { for oc in 0..<s.o { for oy in 0..<s.h { for ox in 0..<s.w {
            var acc = Double(b?[oc] ?? 0), mag = abs(acc)
            for ci in 0..<s.c { for ky in 0..<3 { for kx in 0..<3 {
                let iy = oy - 1 + ky, ix = ox - 1 + kx
                if iy < 0 || iy >= s.h || ix < 0 || ix >= s.w { continue }
                let p = Double(x[((ni * s.c + ci) * s.h + iy) * s.w + ix]) * Double(w[((oc * s.c + ci) * 3 + ky) * 3 + kx])
                acc += p
                mag += abs(p)
            } } }
            let i = ((ni * s.o + oc) * s.h + oy) * s.w + ox
            y[i] = acc
            scale[i] = mag
        } } } }
        return (y, scale)
    }

    /// Largest |ours − reference| / (Σ|terms| + tiny): float32 accumulation error, about 1e-7 per term.
    func relativeError(_ got: [Float], _ ref: (y: [Double], scale: [Double])) -> Double {
        var worst = 0.0
        for i in got.indices {
            let e = abs(Double(got[i]) - ref.y[i]) / (ref.scale[i] + 1e-30)
            if !(e <= worst) { worst = e.isNaN ? .infinity : e }
        }
        return worst
    }

    func testEveryVariantMatchesFloat64Loops() {
        for (index, s) in shapes.enumerated() {
            let seed = UInt64(100 + 10 * index)
            let x = randomTensor([s.n, s.c, s.h, s.w], seed: seed).toArray()
            let w = randomTensor([s.o, s.c, 3, 3], seed: seed + 1, scale: 0.3).toArray()
            let b = randomTensor([s.o], seed: seed + 2).toArray()
            for withBias in [true, false] {
                let ref = reference(s, x: x, w: w, b: withBias ? b : nil)
                for variant in VectorMath.supportedVariants {
                    for threads in [1, 2] {
                        var out = [Float](repeating: .nan, count: s.n * s.o * s.h * s.w)
                        Parallel.withThreadCount(threads) {
                            x.withUnsafeBufferPointer { xp in w.withUnsafeBufferPointer { wp in b.withUnsafeBufferPointer { bp in
                                out.withUnsafeMutableBufferPointer { op in
                                    DirectConv3x3.forward(x: xp.baseAddress!, n: s.n, c: s.c, h: s.h, w: s.w, weight: wp.baseAddress!,
                                                          bias: withBias ? bp.baseAddress! : nil, o: s.o, out: op.baseAddress!, variant: variant)
                                }
                            } } }
                        }
                        let err = relativeError(out, ref)
                        XCTAssertLessThan(err, 2e-6, "shape \(index) \(s) variant \(variant) threads \(threads) bias \(withBias)")
                    }
                }
            }
        }
    }

    /// conv2d sends 3×3 stride-1 padding-1 convs of ≤ 64 input channels to the direct kernel and
    /// gives the implicit-GEMM path's result there; other shapes keep the GEMM path.
    func testConv2dRoutesSmallThreeByThreeToDirectKernel() {
        func geo(_ c: Int, k: Int = 3, stride: Int = 1, padding: Int = 1, groups: Int = 1) -> ConvGeometry {
            ConvGeometry(n: 1, c: c, h: 8, w: 8, o: 8, kh: k, kw: k, stride: stride, padding: padding, groups: groups)
        }
        XCTAssertTrue(geo(32).usesDirect3x3)
        XCTAssertTrue(geo(64).usesDirect3x3)
        XCTAssertFalse(geo(128).usesDirect3x3)
        XCTAssertFalse(geo(32, stride: 2).usesDirect3x3)
        XCTAssertFalse(geo(32, padding: 0).usesDirect3x3)
        XCTAssertFalse(geo(32, groups: 2).usesDirect3x3)
        XCTAssertFalse(geo(32, k: 1, padding: 0).usesDirect3x3)

        let x = randomTensor([3, 12, 9, 14], seed: 7), w = randomTensor([10, 12, 3, 3], seed: 8, scale: 0.2)
        let b = randomTensor([10], seed: 9)
        let direct = withoutGradient { Tensor.conv2d(x, weight: w, bias: b, padding: 1) }
        ConvGeometry.direct3x3Enabled = false
        defer { ConvGeometry.direct3x3Enabled = true }
        let gemm = withoutGradient { Tensor.conv2d(x, weight: w, bias: b, padding: 1) }
        assertClose(direct.toArray(), gemm.toArray(), tolerance: 1e-4)
    }

    /// Same-process A/B at one thread on the small autoencoder's widest convs and its 8×8 latent one (batch 64), direct and
    /// implicit GEMM alternated, best of 3 each, so machine load hits both alike. Asserts only that the
    /// results agree; the speeds are printed for docs/benchmarks.md.
    func testDirectAgainstImplicitGemmOnAutoencoderShapes() {
        for (ch, side) in [(32, 32), (64, 16), (64, 8)] {
            let x = randomTensor([64, ch, side, side], seed: 1), w = randomTensor([ch, ch, 3, 3], seed: 2, scale: 0.05)
            let b = randomTensor([ch], seed: 3)
            let flops = 2.0 * Double(64 * ch * ch * 9 * side * side)
            var best = [Double.infinity, .infinity]
            var results = [x, x]
            defer { ConvGeometry.direct3x3Enabled = true }
            Parallel.withThreadCount(1) {
                for _ in 0..<3 {
                    for (v, direct) in [(0, true), (1, false)] {
                        ConvGeometry.direct3x3Enabled = direct
                        let t0 = DispatchTime.now().uptimeNanoseconds
                        results[v] = withoutGradient { Tensor.conv2d(x, weight: w, bias: b, padding: 1) }
                        best[v] = Swift.min(best[v], Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
                    }
                }
            }
            print(String(format: "conv2d %d→%d %d×%d batch 64, 1 thread (%@): direct %.1f GFLOP/s, implicit GEMM %.1f GFLOP/s, %.2f×",
                         ch, ch, side, side, "\(VectorMath.variant)", flops / best[0] / 1e9, flops / best[1] / 1e9, best[1] / best[0]))
            assertClose(results[0].toArray(), results[1].toArray(), tolerance: 1e-3)
        }
    }
}
