import LatteKernels
import LatteTensor
import XCTest
@testable import LatteEval

/// The FID Inception's convolution (implicit GEMM into packed panels, bias + ReLU per block) and
/// pooling kernels against float64 loops, on the geometries the network uses (1×1, 3×3 with and
/// without padding, stride 2, 1×7 and 7×1), with sizes that leave partial panels and several K blocks.
final class InceptionConvolutionTests: XCTestCase {
    struct Geometry {
        let c, o, kh, kw, stride, padH, padW, n, h, w: Int
    }

    static let geometries: [Geometry] = [
        Geometry(c: 20, o: 24, kh: 1, kw: 1, stride: 1, padH: 0, padW: 0, n: 3, h: 9, w: 11),
        Geometry(c: 300, o: 16, kh: 1, kw: 1, stride: 1, padH: 0, padW: 0, n: 2, h: 7, w: 7),   // 2 K blocks
        Geometry(c: 3, o: 10, kh: 3, kw: 3, stride: 2, padH: 0, padW: 0, n: 2, h: 17, w: 17),
        Geometry(c: 40, o: 12, kh: 3, kw: 3, stride: 1, padH: 1, padW: 1, n: 2, h: 13, w: 10),  // K = 360
        Geometry(c: 9, o: 13, kh: 1, kw: 7, stride: 1, padH: 0, padW: 3, n: 2, h: 8, w: 8),
        Geometry(c: 9, o: 13, kh: 7, kw: 1, stride: 1, padH: 3, padW: 0, n: 2, h: 8, w: 8),
        Geometry(c: 6, o: 40, kh: 5, kw: 5, stride: 1, padH: 2, padW: 2, n: 1, h: 12, w: 12),
        Geometry(c: 5, o: 8, kh: 3, kw: 3, stride: 2, padH: 0, padW: 0, n: 3, h: 60, w: 61),    // many blocks
    ]

    func testConvolutionMatchesFloat64Loops() {
        var g = RandomGenerator(seed: 7)
        for s in Self.geometries {
            let weight = Tensor.uniform([s.o, s.c, s.kh, s.kw], low: -0.5, high: 0.5, generator: &g)
            let beta = Tensor.uniform([s.o], low: -0.3, high: 0.3, generator: &g)
            let mean = Tensor.uniform([s.o], low: -0.2, high: 0.2, generator: &g)
            let variance = Tensor.uniform([s.o], low: 0.5, high: 2, generator: &g)
            let conv = FoldedConv(weight: weight, beta: beta, mean: mean, variance: variance,
                                  stride: s.stride, padH: s.padH, padW: s.padW)
            let x = Activation(c: s.c, n: s.n, h: s.h, w: s.w)
            let values = Tensor.uniform([s.c * s.n * s.h * s.w], low: -1, high: 1, generator: &g)
            x.pointer.update(from: values.f32, count: values.count)
            // Written into the middle channels of a larger activation: the others must stay untouched.
            let (oh, ow) = conv.outputSize(x)
            let big = Activation(c: s.o + 5, n: s.n, h: oh, w: ow)
            big.pointer.update(repeating: -7, count: big.c * big.channelSize)
            conv.forward(x, into: big.channels(2..<(2 + s.o)))
            let plane = oh * ow
            var worst = 0.0
            for oc in 0..<s.o {
                let scale = 1 / (Double(variance.f32[oc]) + 1e-3).squareRoot()
                let shift = Double(beta.f32[oc]) - Double(mean.f32[oc]) * scale
                for img in 0..<s.n {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var sum = 0.0
                            for ci in 0..<s.c {
                                for ky in 0..<s.kh {
                                    for kx in 0..<s.kw {
                                        let iy = oy * s.stride - s.padH + ky, ix = ox * s.stride - s.padW + kx
                                        guard iy >= 0, iy < s.h, ix >= 0, ix < s.w else { continue }
                                        sum += Double(weight.f32[((oc * s.c + ci) * s.kh + ky) * s.kw + kx])
                                            * Double(x.pointer[((ci * s.n + img) * s.h + iy) * s.w + ix])
                                    }
                                }
                            }
                            let expected = max(sum * scale + shift, 0)
                            let got = Double(big.pointer[((oc + 2) * s.n + img) * plane + oy * ow + ox])
                            worst = max(worst, abs(got - expected))
                        }
                    }
                }
            }
            XCTAssertLessThan(worst, 1e-4, "\(s): largest difference \(worst) from the float64 convolution")
            for oc in [0, 1, s.o + 2, s.o + 3, s.o + 4] {
                let row = big.pointer + oc * big.channelSize
                XCTAssertTrue((0..<big.channelSize).allSatisfy { row[$0] == -7 }, "\(s): channel \(oc) outside the target was written")
            }
        }
    }

    func testPoolingMatchesLoops() {
        var g = RandomGenerator(seed: 3)
        for (c, n, h, w) in [(3, 2, 8, 8), (2, 1, 17, 17), (4, 2, 35, 35), (1, 1, 1, 1), (2, 1, 2, 5)] {
            let x = Activation(c: c, n: n, h: h, w: w)
            let values = Tensor.uniform([c * n * h * w], low: -1, high: 1, generator: &g)
            x.pointer.update(from: values.f32, count: values.count)
            let avg = InceptionPooling.average3x3(x)
            for (stride, pad) in [(1, 1), (2, 0)] where h >= 3 - 2 * pad && w >= 3 - 2 * pad {
                let oh = (h + 2 * pad - 3) / stride + 1, ow = (w + 2 * pad - 3) / stride + 1
                let out = UnsafeMutablePointer<Float>.allocate(capacity: c * n * oh * ow)
                defer { out.deallocate() }
                InceptionPooling.max3x3(x, stride: stride, pad: pad, into: out)
                for p in 0..<(c * n) {
                    for oy in 0..<oh {
                        for ox in 0..<ow {
                            var m = -Float.infinity
                            for yy in max(0, oy * stride - pad)..<min(h, oy * stride - pad + 3) {
                                for xx in max(0, ox * stride - pad)..<min(w, ox * stride - pad + 3) { m = max(m, x.pointer[p * h * w + yy * w + xx]) }
                            }
                            XCTAssertEqual(out[p * oh * ow + oy * ow + ox], m, "max pool stride \(stride) [\(c),\(n),\(h),\(w)] at \(p),\(oy),\(ox)")
                        }
                    }
                }
            }
            for p in 0..<(c * n) {
                for oy in 0..<h {
                    for ox in 0..<w {
                        var sum = 0.0, cells = 0.0
                        for yy in max(0, oy - 1)..<min(h, oy + 2) {
                            for xx in max(0, ox - 1)..<min(w, ox + 2) { sum += Double(x.pointer[p * h * w + yy * w + xx]); cells += 1 }
                        }
                        XCTAssertEqual(Double(avg.pointer[p * h * w + oy * w + ox]), sum / cells, accuracy: 1e-6,
                                       "average pool [\(c),\(n),\(h),\(w)] at \(p),\(oy),\(ox)")
                    }
                }
            }
        }
    }
}
