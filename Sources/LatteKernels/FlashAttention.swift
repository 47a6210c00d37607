// Inference attention that never materialises the score matrix: out = softmax(scale·QKᵀ + mask)·V,
// computed per block of 32 queries over blocks of keys with an online softmax (running max and
// sum, FlashAttention-2 style), in parallel over batch × query head × query block. The SIMD work is
// in CLatteKernels/attention_*.c; this file does tiling, masking, layouts and threading.
import CLatteKernels

public enum FlashAttention {
    /// Element strides of one operand along (batch, head, position). The head-dim axis must be
    /// contiguous (stride 1), which both common layouts satisfy, so no copy is needed for either.
    public struct Layout: Sendable, Equatable {
        public var batch: Int
        public var head: Int
        public var position: Int

        public init(batch: Int, head: Int, position: Int) {
            self.batch = batch
            self.head = head
            self.position = position
        }

        /// Contiguous [batch, length, heads, headDim] (the layout projections produce).
        public static func bthd(heads: Int, length: Int, headDim: Int) -> Layout {
            Layout(batch: length * heads * headDim, head: headDim, position: heads * headDim)
        }

        /// Contiguous [batch, heads, length, headDim].
        public static func bhtd(heads: Int, length: Int, headDim: Int) -> Layout {
            Layout(batch: heads * length * headDim, head: length * headDim, position: headDim)
        }
    }

    /// Which keys each query sees. Queries are aligned to the end of the keys: query i sits at
    /// position p(i) = i + keyLength − queryLength, so a KV cache holding earlier positions works
    /// unchanged. Every mask lets query i see a prefix of the keys, 0 ..< limit(i):
    public enum Mask {
        /// Bidirectional: every query sees every key (limit = keyLength). Image tokens attending
        /// to a cached prompt plus all image tokens (docs/method.md §2) use this.
        case none
        /// limit = p(i) + 1: keys up to and including the query's own position.
        case causal
        /// `prefix(P)`: the first P keys are visible to every query; a query at a position ≥ P sees
        /// every key (the rest attend bidirectionally among themselves and to the prefix); a
        /// query inside the prefix sees only the prefix. limit = p(i) < P ? P : keyLength.
        case prefix(Int)
        /// `causalPrefix(P)` (prefix-LM): keys < P visible to every query, causal beyond them.
        /// limit = max(P, p(i) + 1).
        case causalPrefix(Int)
        /// Explicit per-query limits, `batch × queryLength` Int32 values (row-major): query i of
        /// batch item b sees keys 0 ..< counts[b·queryLength + i] (clamped to [0, keyLength]).
        case visibleKeys(UnsafePointer<Int32>)
    }

    public struct InvalidArgument: Error, CustomStringConvertible {
        public let description: String
    }

    /// Queries per block; matches LATTE_ATTN_QBLK in the C kernels.
    static let queryBlock = Int(LATTE_ATTN_QBLK)
    /// Keys per block: the 32-query score tile (keyBlock × 32 floats) stays in L1.
    static let keyBlock = 64
    /// Below this many queries the per-query (decode) path wins: it has no idle lanes.
    static let decodeMaxQueries = 4

    /// out[b, h, i, :] = Σ_j softmax_j(scale · q[b, h, i]·k[b, h/g, j]) · v[b, h/g, j] over the keys
    /// the mask lets query i see, where g = queryHeads / kvHeads (grouped-query attention).
    /// A query that sees no key gets a zero output row. Strides are in elements; the defaults
    /// are contiguous [batch, heads, length, headDim]. `scale` defaults to 1/√headDim.
    public static func forward(
        q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>,
        batch: Int, queryHeads: Int, kvHeads: Int, queryLength: Int, keyLength: Int, headDim: Int,
        scale: Float? = nil, mask: Mask = .none,
        qLayout: Layout? = nil, kLayout: Layout? = nil, vLayout: Layout? = nil, outLayout: Layout? = nil
    ) throws {
        guard batch >= 0, queryLength >= 0, keyLength >= 0 else {
            throw InvalidArgument(description: "FlashAttention.forward: batch (\(batch)), queryLength (\(queryLength)) and keyLength (\(keyLength)) must be ≥ 0")
        }
        guard queryHeads > 0, kvHeads > 0, queryHeads % kvHeads == 0 else {
            throw InvalidArgument(description: "FlashAttention.forward: queryHeads (\(queryHeads)) must be a positive multiple of kvHeads (\(kvHeads))")
        }
        guard headDim > 0 else {
            throw InvalidArgument(description: "FlashAttention.forward: headDim must be positive, got \(headDim)")
        }
        switch mask {
        case .prefix(let p), .causalPrefix(let p):
            guard p >= 0 else { throw InvalidArgument(description: "FlashAttention.forward: prefix length must be ≥ 0, got \(p)") }
        default: break
        }
        if batch == 0 || queryLength == 0 { return }

        let problem = Problem(
            q: q, k: k, v: v, out: out, batch: batch, queryHeads: queryHeads, groupSize: queryHeads / kvHeads,
            queryLength: queryLength, keyLength: keyLength, headDim: headDim,
            scale: scale ?? 1 / Float(headDim).squareRoot(), mask: mask,
            qLayout: qLayout ?? .bhtd(heads: queryHeads, length: queryLength, headDim: headDim),
            kLayout: kLayout ?? .bhtd(heads: kvHeads, length: keyLength, headDim: headDim),
            vLayout: vLayout ?? .bhtd(heads: kvHeads, length: keyLength, headDim: headDim),
            outLayout: outLayout ?? .bhtd(heads: queryHeads, length: queryLength, headDim: headDim))
        if queryLength < decodeMaxQueries {
            Parallel.forEach(batch * queryHeads * queryLength) { problem.decodeUnit($0) }
        } else {
            let blocks = (queryLength + queryBlock - 1) / queryBlock
            Parallel.forEach(batch * queryHeads * blocks) { problem.tiledUnit($0, blocks: blocks) }
        }
    }

    /// The arguments of one call, with the per-unit work as methods.
    struct Problem {
        let q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>
        let out: UnsafeMutablePointer<Float>
        let batch: Int, queryHeads: Int, groupSize: Int, queryLength: Int, keyLength: Int, headDim: Int
        let scale: Float
        let mask: Mask
        let qLayout: Layout, kLayout: Layout, vLayout: Layout, outLayout: Layout

        /// Keys 0 ..< limit visible to query i of batch item b.
        @inline(__always)
        func limit(batch b: Int, query i: Int) -> Int {
            let position = i + keyLength - queryLength
            let raw: Int
            switch mask {
            case .none: raw = keyLength
            case .causal: raw = position + 1
            case .prefix(let p): raw = position < p ? p : keyLength
            case .causalPrefix(let p): raw = Swift.max(p, position + 1)
            case .visibleKeys(let counts): raw = Int(counts[b * queryLength + i])
            }
            return Swift.min(Swift.max(raw, 0), keyLength)
        }

        /// One block of up to 32 queries of one (batch, head).
        func tiledUnit(_ unit: Int, blocks: Int) {
            let qb = unit % blocks, h = (unit / blocks) % queryHeads, b = unit / (blocks * queryHeads)
            let kvh = h / groupSize
            let qBlock = FlashAttention.queryBlock, kBlock = FlashAttention.keyBlock, d = headDim
            let q0 = qb * qBlock, nq = Swift.min(qBlock, queryLength - q0)

            // One scratch allocation per unit: qᵀ (32·d), scores (kBlock·32), output (32·d),
            // m, l, corr (32 each); limits separately as Int.
            let floats = 2 * qBlock * d + kBlock * qBlock + 3 * qBlock
            let scratch = UnsafeMutableRawPointer.allocate(byteCount: floats * 4, alignment: 64)
            defer { scratch.deallocate() }
            let qt = scratch.bindMemory(to: Float.self, capacity: floats)
            let st = qt + qBlock * d, o = st + kBlock * qBlock
            let m = o + qBlock * d, l = m + qBlock, corr = l + qBlock
            let limits = UnsafeMutablePointer<Int>.allocate(capacity: qBlock)
            defer { limits.deallocate() }

            var minLimit = keyLength, maxLimit = 0
            for i in 0..<qBlock {
                if i < nq {
                    let lim = limit(batch: b, query: q0 + i)
                    limits[i] = lim
                    minLimit = Swift.min(minLimit, lim)
                    maxLimit = Swift.max(maxLimit, lim)
                } else {
                    limits[i] = 0  // padding lanes: fully masked where masking applies, never read
                }
            }
            let qBase = q + b * qLayout.batch + h * qLayout.head + q0 * qLayout.position
            let kBase = k + b * kLayout.batch + kvh * kLayout.head
            let vBase = v + b * vLayout.batch + kvh * vLayout.head
            latte_attn_pack_qt(qBase, qLayout.position, nq, d, scale, qt)
            for i in 0..<qBlock { m[i] = -.infinity; l[i] = 0; corr[i] = 0 }
            o.initialize(repeating: 0, count: qBlock * d)

            var k0 = 0
            while k0 < maxLimit {  // keys past every query's limit are never touched
                let nk = Swift.min(kBlock, maxLimit - k0)
                latte_attn_qk(qt, kBase + k0 * kLayout.position, kLayout.position, nk, d, st)
                if k0 + nk > minLimit { latte_attn_mask(st, nk, k0, limits) }
                latte_attn_softmax_update(st, nk, m, l, corr)
                latte_attn_pv(st, nk, nq, vBase + k0 * vLayout.position, vLayout.position, d, o, corr)
                k0 += nk
            }
            let outBase = out + b * outLayout.batch + h * outLayout.head + q0 * outLayout.position
            for i in 0..<nq {
                // l == 0 only when the query saw no key at all: a zero row, not 0/0.
                let inv: Float = l[i] > 0 ? 1 / l[i] : 0
                latte_vm_scale(inv, o + i * d, outBase + i * outLayout.position, d)
            }
        }

        /// One query of one (batch, head): scores for its visible keys, softmax, weighted sum.
        func decodeUnit(_ unit: Int) {
            let i = unit % queryLength, h = (unit / queryLength) % queryHeads, b = unit / (queryLength * queryHeads)
            let kvh = h / groupSize, d = headDim
            let outRow = out + b * outLayout.batch + h * outLayout.head + i * outLayout.position
            let n = limit(batch: b, query: i)
            if n == 0 {
                outRow.initialize(repeating: 0, count: d)
                return
            }
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: d + n)
            defer { scratch.deallocate() }
            let qs = scratch, s = scratch + d
            latte_vm_scale(scale, q + b * qLayout.batch + h * qLayout.head + i * qLayout.position, qs, d)
            latte_attn_dots(qs, k + b * kLayout.batch + kvh * kLayout.head, kLayout.position, n, d, s)
            latte_vm_softmax_rows(s, s, 1, n)
            latte_attn_pv_row(s, n, v + b * vLayout.batch + kvh * vLayout.head, vLayout.position, d, outRow)
        }
    }
}
