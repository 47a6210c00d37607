import LatteNN
import LatteTensor
import XCTest

/// The bf16 decode path of `Linear` and the KV-cached attention block.
final class BFloat16ProjectionTests: XCTestCase {
    func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
        XCTAssertEqual(a.shape, b.shape)
        return zip(a.toArray(), b.toArray()).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    /// The bf16 paths (the GEMV for ≤ 4 rows, the evens/odds widening for more) equal the converting
    /// GEMM, odd widths included.
    func testBFloat16ProjectionEqualsConvertingLinear() throws {
        for (inF, outF, rows) in [(37, 5, 1), (101, 67, 3), (64, 130, 4), (1536, 40, 2), (36, 11, 9), (101, 7, 6), (70, 33, 5)] {
            let w = Tensor.randomNormal([outF, inF], seed: UInt64(inF), std: 0.3).to(.bfloat16)
            let b = Tensor.randomNormal([outF], seed: 9)
            let x = Tensor.randomNormal([1, rows, inF], seed: UInt64(outF))
            let direct = withoutGradient { BFloat16Projection.apply(x, weight: w, bias: b) }
            let reference = withoutGradient { Tensor.linear(x, weight: w, bias: b) }
            XCTAssertEqual(direct.shape, [1, rows, outF])
            XCTAssertLessThan(maxDifference(direct, reference), 1e-4, "\(inF)→\(outF) × \(rows)")
        }
    }

    /// A `Linear` that reads bf16 directly takes the GEMV for a decoding row and the converting GEMM
    /// otherwise; without the flag it always converts.
    func testLinearReadsBFloat16DirectlyOnlyWhenAsked() throws {
        let layer = Linear(48, 20, bias: true)
        try layer.update(parameters: ["weight": Tensor.randomNormal([20, 48], seed: 1, std: 0.3).to(.bfloat16),
                                      "bias": Tensor.randomNormal([20], seed: 2)])
        let row = Tensor.randomNormal([1, 1, 48], seed: 3), rows = Tensor.randomNormal([1, 9, 48], seed: 4)
        let converting = withoutGradient { Tensor.linear(row, weight: layer.weight.tensor, bias: layer.bias?.tensor) }
        XCTAssertEqual(withoutGradient { layer(row) }.toArray(), converting.toArray())
        layer.readsBFloat16Directly = true
        let direct = withoutGradient { BFloat16Projection.apply(row, weight: layer.weight.tensor, bias: layer.bias?.tensor) }
        XCTAssertEqual(withoutGradient { layer(row) }.toArray(), direct.toArray())
        XCTAssertEqual(withoutGradient { layer(rows) }.toArray(),
                       withoutGradient { Tensor.linear(rows, weight: layer.weight.tensor, bias: layer.bias?.tensor) }.toArray())
    }

    /// Attention fed one position at a time through a KV cache (growing mid-sequence) gives the full
    /// causal pass; the cache holds the rotated keys.
    func testCachedAttentionEqualsTheFullPass() {
        var g = RandomGenerator(seed: 5)
        let attn = Attention(hiddenSize: 8, heads: 4, kvHeads: 2, headDim: 4, qkvBias: true, generator: &g)
        let x = Tensor.randomNormal([2, 6, 8], seed: 6)
        let rope = Rotary.tables(positions: Array(0..<6), headDim: 4, theta: 10_000)
        let full = withoutGradient { attn(x, rotary: rope, mask: .causal).output }
        let cache = KVCache(layerCount: 1, kvHeads: 2, headDim: 4, batch: 2, chunk: 4)
        var pieces: [Tensor] = []
        for t in 0..<6 {
            let r = (cos: rope.cos.sliced(axis: 0, t..<(t + 1)), sin: rope.sin.sliced(axis: 0, t..<(t + 1)))
            pieces.append(withoutGradient { attn(x.sliced(axis: 1, t..<(t + 1)), rotary: r, cache: cache, layer: 0) })
            cache.commit(1)
        }
        XCTAssertEqual(cache.length, 6)
        XCTAssertEqual(cache.capacity, 8)
        XCTAssertLessThan(maxDifference(Tensor.concat(pieces, axis: 1), full), 1e-5)
        XCTAssertEqual(cache.keys[0].shape, [2, 2, 6, 4])
    }
}
