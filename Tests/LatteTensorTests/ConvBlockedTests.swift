import Foundation
import XCTest
import LatteKernels
@testable import LatteTensor

/// conv2d's implicit-GEMM forward (ConvPackedColumns.swift) and blocked backward
/// (ConvBackwardBlocks.swift) on shapes that cross their blocks: several column blocks, two K blocks,
/// partial panels, groups, strides, tasks and row blocks that cut through images, against direct
/// Double loops; and the blocked backward against the chunked one, timed.
final class ConvBlockedTests: XCTestCase {
    struct Shape { let n, c, h, w, o, k, stride, padding, groups: Int }

    let shapes = [
        Shape(n: 5, c: 32, h: 13, w: 17, o: 40, k: 3, stride: 1, padding: 1, groups: 1),  // 3 column blocks, K = 288 in 2 blocks
        Shape(n: 3, c: 32, h: 12, w: 11, o: 20, k: 3, stride: 2, padding: 1, groups: 2),  // stride 2, groups, K = 144
        Shape(n: 4, c: 24, h: 7, w: 9, o: 50, k: 1, stride: 1, padding: 0, groups: 1),    // 1×1
        Shape(n: 2, c: 6, h: 10, w: 9, o: 7, k: 4, stride: 2, padding: 1, groups: 1),     // even kernel, odd outputs
    ]

    /// Direct-loop forward, dX and dW (for the upstream gradient `gy`) in Double.
    func reference(_ s: Shape, x: [Float], w: [Float], b: [Float], gy: [Float]) -> (y: [Float], dx: [Float], dw: [Float]) {
        let oh = (s.h + 2 * s.padding - s.k) / s.stride + 1, ow = (s.w + 2 * s.padding - s.k) / s.stride + 1
        let cg = s.c / s.groups, og = s.o / s.groups
        var y = [Double](repeating: 0, count: s.n * s.o * oh * ow)
        var dx = [Double](repeating: 0, count: x.count), dw = [Double](repeating: 0, count: w.count)
        for ni in 0..<s.n { for oc in 0..<s.o { for oy in 0..<oh { for ox in 0..<ow {
            let yi = ((ni * s.o + oc) * oh + oy) * ow + ox
            var acc = Double(b[oc])
            let grp = oc / og
            for ci in 0..<cg { for ky in 0..<s.k { for kx in 0..<s.k {
                let iy = oy * s.stride - s.padding + ky, ix = ox * s.stride - s.padding + kx
                if iy < 0 || iy >= s.h || ix < 0 || ix >= s.w { continue }
                let xi = ((ni * s.c + grp * cg + ci) * s.h + iy) * s.w + ix, wi = ((oc * cg + ci) * s.k + ky) * s.k + kx
                acc += Double(x[xi]) * Double(w[wi])
                dx[xi] += Double(gy[yi]) * Double(w[wi])
                dw[wi] += Double(gy[yi]) * Double(x[xi])
            } } }
            y[yi] = acc
        } } } }
        return (y.map(Float.init), dx.map(Float.init), dw.map(Float.init))
    }

    func gradients(_ s: Shape, _ x: Tensor, _ w: Tensor, _ b: Tensor, _ gy: Tensor) -> (Tensor, [Tensor]) {
        var y = Tensor.zeros([1])
        let (_, grads) = valueAndGradient(at: [x, w, b]) { t in
            y = Tensor.conv2d(t[0], weight: t[1], bias: t[2], stride: s.stride, padding: s.padding, groups: s.groups)
            return (y * gy).sum()
        }
        return (y, grads)
    }

    func testForwardAndBackwardMatchDirectLoops() {
        let savedBudget = ConvGeometry.backwardTileBudget
        defer { ConvGeometry.backwardTileBudget = savedBudget }
        for (index, s) in shapes.enumerated() {
            let seed = UInt64(10 * index)
            let x = randomTensor([s.n, s.c, s.h, s.w], seed: seed + 1), w = randomTensor([s.o, s.c / s.groups, s.k, s.k], seed: seed + 2, scale: 0.2)
            let b = randomTensor([s.o], seed: seed + 3)
            let oh = (s.h + 2 * s.padding - s.k) / s.stride + 1, ow = (s.w + 2 * s.padding - s.k) / s.stride + 1
            let gy = randomTensor([s.n, s.o, oh, ow], seed: seed + 4)
            let ref = reference(s, x: x.toArray(), w: w.toArray(), b: b.toArray(), gy: gy.toArray())
            // One and two threads; a default tile and one of 3 output rows (blocks cut through images).
            for (threads, budget) in [(1, savedBudget), (2, savedBudget), (2, 3 * s.c * s.k * s.k * ow), (1, 1)] {
                ConvGeometry.backwardTileBudget = budget
                let (y, grads) = Parallel.withThreadCount(threads) { gradients(s, x, w, b, gy) }
                let label = "shape \(index) threads \(threads) budget \(budget)"
                assertClose(y.toArray(), ref.y, tolerance: 1e-4, file: #filePath, line: #line)
                XCTAssertEqual(y.shape, [s.n, s.o, oh, ow], label)
                assertClose(grads[0].toArray(), ref.dx, tolerance: 1e-4)
                assertClose(grads[1].toArray(), ref.dw, tolerance: 1e-3)
            }
        }
    }

    /// The implicit-GEMM forward and the blocked backward give the chunked ones' results on the small
    /// autoencoder's two widest convs (32→32 at 32×32 and 64→64 at 16×16, batch 64), and both are
    /// timed at one thread, alternating new and old so that machine load hits both alike.
    func testPackedAndBlockedMatchChunkedOnAutoencoderShapes() {
        for (ch, side) in [(32, 32), (64, 16)] {
            let s = Shape(n: 64, c: ch, h: side, w: side, o: ch, k: 3, stride: 1, padding: 1, groups: 1)
            let x = randomTensor([64, ch, side, side], seed: 1), w = randomTensor([ch, ch, 3, 3], seed: 2, scale: 0.05)
            let b = randomTensor([ch], seed: 3), gy = randomTensor([64, ch, side, side], seed: 4)
            let flops = 2.0 * Double(64 * ch * ch * 9 * side * side)
            func time(_ body: () -> Void) -> Double {
                let t0 = DispatchTime.now().uptimeNanoseconds
                body()
                return Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
            }
            func use(new: Bool) {
                ConvGeometry.packedForward = new
                ConvGeometry.blockedBackward = new
            }
            defer { use(new: true) }
            var best = [Double](repeating: .infinity, count: 4)   // forward new, old; backward new, old
            var results: [[Tensor]] = [[], []]
            Parallel.withThreadCount(1) {
                for _ in 0..<3 {
                    for (v, new) in [(0, true), (1, false)] {
                        use(new: new)
                        best[v] = Swift.min(best[v], time { _ = withoutGradient { Tensor.conv2d(x, weight: w, bias: b, padding: 1) } })
                        var r: (Tensor, [Tensor]) = (x, [])
                        best[2 + v] = Swift.min(best[2 + v], time { r = gradients(s, x, w, b, gy) })
                        results[v] = [r.0] + r.1
                    }
                }
            }
            print(String(format: "conv2d %d→%d %d×%d batch 64, 1 thread: forward %.1f GFLOP/s (chunked %.1f, %.2f×); forward+backward %.1f GFLOP/s (chunked %.1f, %.2f×)",
                         ch, ch, side, side, flops / best[0] / 1e9, flops / best[1] / 1e9, best[1] / best[0],
                         3 * flops / best[2] / 1e9, 3 * flops / best[3] / 1e9, best[3] / best[2]))
            for i in 0..<4 { assertClose(results[0][i].toArray(), results[1][i].toArray(), tolerance: 2e-3) }
        }
    }

    /// dX and dW have the same bits at 1, 2 and 3 threads (what lets 1 rank × 2 threads and 2 ranks ×
    /// 1 thread train the same autoencoder): one image (the chunked backward), two, and five with tile
    /// budgets whose row blocks cut through images. Before the partitions were fixed, dW was summed
    /// over one range of images per thread and differed in its last bits between thread counts.
    func testBackwardBitsDoNotDependOnThreadCount() {
        let savedBudget = ConvGeometry.backwardTileBudget
        defer { ConvGeometry.backwardTileBudget = savedBudget }
        let cases = [Shape(n: 1, c: 16, h: 12, w: 12, o: 24, k: 3, stride: 1, padding: 1, groups: 1),
                     Shape(n: 2, c: 16, h: 12, w: 12, o: 24, k: 3, stride: 1, padding: 1, groups: 1),
                     Shape(n: 5, c: 32, h: 13, w: 17, o: 40, k: 3, stride: 1, padding: 1, groups: 1),
                     Shape(n: 3, c: 32, h: 12, w: 11, o: 20, k: 3, stride: 2, padding: 1, groups: 2)]
        for (index, s) in cases.enumerated() {
            let seed = UInt64(100 + 10 * index)
            let x = randomTensor([s.n, s.c, s.h, s.w], seed: seed + 1), w = randomTensor([s.o, s.c / s.groups, s.k, s.k], seed: seed + 2, scale: 0.2)
            let b = randomTensor([s.o], seed: seed + 3)
            let oh = (s.h + 2 * s.padding - s.k) / s.stride + 1, ow = (s.w + 2 * s.padding - s.k) / s.stride + 1
            let gy = randomTensor([s.n, s.o, oh, ow], seed: seed + 4)
            for budget in [savedBudget, 3 * s.c * s.k * s.k * ow] {
                ConvGeometry.backwardTileBudget = budget
                let runs = [1, 2, 3].map { threads in Parallel.withThreadCount(threads) { gradients(s, x, w, b, gy).1 } }
                for (threads, grads) in zip([2, 3], runs.dropFirst()) {
                    for (k, name) in ["dX", "dW", "dB"].enumerated() {
                        let one = runs[0][k].toArray().map(\.bitPattern), other = grads[k].toArray().map(\.bitPattern)
                        XCTAssertEqual(one, other, "case \(index) budget \(budget): \(name) at \(threads) threads differs from 1 thread")
                    }
                }
            }
        }
    }
}
