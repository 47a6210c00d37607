// FlashAttention.forward against a naive double-precision attention that materialises the full
// score matrix, over layouts, grouped-query ratios, head dims, lengths and every mask kind.
import Foundation
import XCTest
@testable import LatteKernels

/// Naive reference: out[b,h,i] = softmax(scale·q·Kᵀ over keys < limit(b,i))·V, zero if no key.
private func naiveAttention(
    q: [Float], k: [Float], v: [Float], batch: Int, queryHeads: Int, kvHeads: Int, queryLength tq: Int,
    keyLength tk: Int, headDim d: Int, scale: Double, qL: FlashAttention.Layout, kL: FlashAttention.Layout,
    vL: FlashAttention.Layout, limit: (Int, Int) -> Int
) -> [[Double]] {  // indexed [(b·H + h)·tq + i][c]
    q.withUnsafeBufferPointer { q in k.withUnsafeBufferPointer { k in v.withUnsafeBufferPointer { v in
        naive(q: q, k: k, v: v, batch: batch, queryHeads: queryHeads, kvHeads: kvHeads, tq: tq, tk: tk, d: d,
              scale: scale, qL: qL, kL: kL, vL: vL, limit: limit)
    } } }
}

private func naive(
    q: UnsafeBufferPointer<Float>, k: UnsafeBufferPointer<Float>, v: UnsafeBufferPointer<Float>, batch: Int,
    queryHeads: Int, kvHeads: Int, tq: Int, tk: Int, d: Int, scale: Double, qL: FlashAttention.Layout,
    kL: FlashAttention.Layout, vL: FlashAttention.Layout, limit: (Int, Int) -> Int
) -> [[Double]] {
    var result: [[Double]] = []
    let group = queryHeads / kvHeads
    for b in 0..<batch {
        for h in 0..<queryHeads {
            let kvh = h / group
            for i in 0..<tq {
                let n = limit(b, i)
                var row = [Double](repeating: 0, count: d)
                if n > 0 {
                    var s = [Double](repeating: 0, count: n)
                    for j in 0..<n {
                        var acc = 0.0
                        for c in 0..<d {
                            acc += Double(q[b * qL.batch + h * qL.head + i * qL.position + c])
                                * Double(k[b * kL.batch + kvh * kL.head + j * kL.position + c])
                        }
                        s[j] = scale * acc
                    }
                    let m = s.max()!
                    let e = s.map { Foundation.exp($0 - m) }
                    let z = e.reduce(0, +)
                    for j in 0..<n {
                        let p = e[j] / z
                        for c in 0..<d { row[c] += p * Double(v[b * vL.batch + kvh * vL.head + j * vL.position + c]) }
                    }
                }
                result.append(row)
            }
        }
    }
    return result
}

private enum MaskKind: CaseIterable { case none, causal, prefix, causalPrefix, visibleKeys }

final class FlashAttentionTests: XCTestCase {
    /// Runs one configuration on the current kernel variant and compares with the reference.
    private func check(
        batch: Int, queryHeads: Int, kvHeads: Int, tq: Int, tk: Int, d: Int, mask kind: MaskKind,
        layout: String, scoreScale: Float = 1, seed: UInt64, variant: VectorMath.Variant,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        var g = SeededGenerator(seed: seed)
        // Layouts: contiguous [B,H,T,D], contiguous [B,T,H,D], or [B,T,H,D] with padded rows and
        // heads (strides that no contiguous shape has).
        func makeLayout(_ heads: Int, _ len: Int) -> (FlashAttention.Layout, Int) {
            switch layout {
            case "bhtd": return (.bhtd(heads: heads, length: len, headDim: d), batch * heads * len * d)
            case "bthd": return (.bthd(heads: heads, length: len, headDim: d), batch * heads * len * d)
            default:
                let headStride = d + 3, posStride = heads * headStride + 5
                return (FlashAttention.Layout(batch: len * posStride + 7, head: headStride, position: posStride),
                        batch * (len * posStride + 7))
            }
        }
        let (qL, qCount) = makeLayout(queryHeads, tq), (kL, kCount) = makeLayout(kvHeads, tk)
        let (vL, vCount) = makeLayout(kvHeads, tk), (oL, oCount) = makeLayout(queryHeads, tq)
        let q = g.uniforms(qCount, -scoreScale, scoreScale), k = g.uniforms(kCount, -1, 1), v = g.uniforms(vCount, -1, 1)
        let sentinel: Float = 12345
        var out = [Float](repeating: sentinel, count: oCount)

        let p = Swift.max(0, tk / 3)
        var counts = [Int32](repeating: 0, count: batch * tq)
        for i in counts.indices { counts[i] = Int32(g.next() % UInt64(tk + 3)) - 1 }  // includes −1 and > tk
        let offset = tk - tq
        let limit: (Int, Int) -> Int = { b, i in
            let pos = i + offset
            let raw: Int
            switch kind {
            case .none: raw = tk
            case .causal: raw = pos + 1
            case .prefix: raw = pos < p ? p : tk
            case .causalPrefix: raw = Swift.max(p, pos + 1)
            case .visibleKeys: raw = Int(counts[b * tq + i])
            }
            return Swift.min(Swift.max(raw, 0), tk)
        }
        let scale = 1 / Double(d).squareRoot()
        try counts.withUnsafeBufferPointer { cp in
            let mask: FlashAttention.Mask
            switch kind {
            case .none: mask = .none
            case .causal: mask = .causal
            case .prefix: mask = .prefix(p)
            case .causalPrefix: mask = .causalPrefix(p)
            case .visibleKeys: mask = .visibleKeys(cp.baseAddress!)
            }
            try out.withUnsafeMutableBufferPointer { op in
                try FlashAttention.forward(
                    q: q, k: k, v: v, out: op.baseAddress!, batch: batch, queryHeads: queryHeads, kvHeads: kvHeads,
                    queryLength: tq, keyLength: tk, headDim: d, scale: Float(scale), mask: mask,
                    qLayout: qL, kLayout: kL, vLayout: vL, outLayout: oL)
            }
        }
        let want = naiveAttention(q: q, k: k, v: v, batch: batch, queryHeads: queryHeads, kvHeads: kvHeads,
                                  queryLength: tq, keyLength: tk, headDim: d, scale: scale,
                                  qL: qL, kL: kL, vL: vL, limit: limit)
        let what = "[\(variant)] B=\(batch) H=\(queryHeads)/\(kvHeads) Tq=\(tq) Tk=\(tk) D=\(d) \(kind) \(layout)"
        var written = Set<Int>()
        for b in 0..<batch {
            for h in 0..<queryHeads {
                for i in 0..<tq {
                    let row = want[(b * queryHeads + h) * tq + i]
                    for c in 0..<d {
                        let idx = b * oL.batch + h * oL.head + i * oL.position + c
                        written.insert(idx)
                        if Swift.abs(Double(out[idx]) - row[c]) > 2e-5 {
                            XCTFail("\(what): out[\(b),\(h),\(i),\(c)] = \(out[idx]), want \(row[c])", file: file, line: line)
                            return
                        }
                    }
                }
            }
        }
        // Nothing outside the output rows (the padding of strided layouts) is written.
        for idx in out.indices where !written.contains(idx) && out[idx] != sentinel {
            XCTFail("\(what): wrote outside the output at \(idx)", file: file, line: line)
            return
        }
    }

    func testMasksAndShapes() throws {
        try forEachVariant { variant in
            var seed: UInt64 = 100
            for kind in MaskKind.allCases {
                for (tq, tk) in [(1, 1), (1, 37), (2, 9), (3, 3), (5, 5), (33, 33), (70, 70), (17, 150), (40, 1), (64, 200)] {
                    seed += 1
                    try check(batch: 1, queryHeads: 2, kvHeads: 2, tq: tq, tk: tk, d: 40, mask: kind,
                              layout: ["bhtd", "bthd", "strided"][Int(seed % 3)], seed: seed, variant: variant)
                }
            }
        }
    }

    func testGroupedQueryHeadsAndHeadDims() throws {
        try forEachVariant { variant in
            var seed: UInt64 = 200
            for (qh, kvh) in [(3, 3), (3, 1), (4, 1), (8, 2)] {
                for d in [64, 128, 40, 7, 1] {
                    for (tq, tk) in [(1, 50), (37, 37), (20, 90)] {
                        seed += 1
                        let kind = MaskKind.allCases[Int(seed % 5)]
                        try check(batch: 2, queryHeads: qh, kvHeads: kvh, tq: tq, tk: tk, d: d, mask: kind,
                                  layout: ["bhtd", "bthd", "strided"][Int(seed % 3)], seed: seed, variant: variant)
                    }
                }
            }
        }
    }

    /// Large score ranges make the running max change between key blocks: the online rescaling
    /// must match a softmax over the whole row.
    func testLargeScoresAndLongKeys() throws {
        try forEachVariant { variant in
            try check(batch: 1, queryHeads: 2, kvHeads: 1, tq: 100, tk: 300, d: 64, mask: .causal, layout: "bthd",
                      scoreScale: 30, seed: 300, variant: variant)
            try check(batch: 1, queryHeads: 2, kvHeads: 1, tq: 1, tk: 700, d: 128, mask: .none, layout: "bhtd",
                      scoreScale: 30, seed: 301, variant: variant)
        }
    }

    func testInvalidArguments() {
        let x = [Float](repeating: 0, count: 64)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: 64)
        defer { out.deallocate() }
        do {
            let op = UnsafeMutableBufferPointer(start: out, count: 64)
            XCTAssertThrowsError(try FlashAttention.forward(q: x, k: x, v: x, out: op.baseAddress!, batch: 1, queryHeads: 3,
                                                            kvHeads: 2, queryLength: 1, keyLength: 1, headDim: 4))
            XCTAssertThrowsError(try FlashAttention.forward(q: x, k: x, v: x, out: op.baseAddress!, batch: 1, queryHeads: 1,
                                                            kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 0))
            XCTAssertThrowsError(try FlashAttention.forward(q: x, k: x, v: x, out: op.baseAddress!, batch: 1, queryHeads: 1,
                                                            kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 4, mask: .prefix(-1)))
            XCTAssertThrowsError(try FlashAttention.forward(q: x, k: x, v: x, out: op.baseAddress!, batch: -1, queryHeads: 1,
                                                            kvHeads: 1, queryLength: 1, keyLength: 1, headDim: 4))
        }
    }
}
