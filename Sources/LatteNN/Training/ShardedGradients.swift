import Foundation
import LatteKernels
import LatteTensor

/// The gradient of a global batch as a sum over a fixed number of shards, added in shard order, so
/// the result does not depend on how many processes computed it.
///
/// The global batch is cut into `shards` (S) micro-batches. Each shard's gradient is computed on its
/// own (from zero, into the arena) and kept; the batch's gradient is then g = (((g₀ + g₁) + g₂) + …),
/// element by element in shard order. On N ranks each rank computes S/N consecutive shards; the sum is
/// a fixed-order reduce-scatter: the parameter vector is cut into N chunks, an all-to-all gives rank j
/// chunk j of every shard's gradient (in shard order), rank j sums them in shard order, and an
/// all-gather hands every rank every summed chunk. One process runs the same code with copies in place
/// of messages, so S shards give the same bits on 1, 2 or N ranks (N dividing S) — floating-point
/// addition is not associative, and MPI_Allreduce does not fix its order, which is why this is not an
/// allreduce. Traffic per rank per step: (S/N)·P·(N−1)/N floats out and the same in for the all-to-all,
/// then P·(N−1)/N for the all-gather (an allreduce moves 2·P·(N−1)/N).
public final class ShardedGradients {
    public let arena: ParameterArena
    public let group: ProcessGroup
    public let shards: Int
    /// Shards this rank computes: `localShards` of the global `shards`, consecutive.
    public var localShards: Range<Int> { group.rank * perRank ..< (group.rank + 1) * perRank }
    let perRank: Int
    /// Floats of the arena in each rank's chunk (the last chunk zero-padded).
    let chunk: Int
    private let send: UnsafeMutablePointer<Float>
    private let receive: UnsafeMutablePointer<Float>
    private let gathered: UnsafeMutablePointer<Float>

    public init(arena: ParameterArena, shards: Int, group: ProcessGroup) throws {
        guard shards >= 1, shards % group.size == 0 else {
            throw TrainingError(message: "gradient shards \(shards) must be a positive multiple of the \(group.size) ranks (each rank computes the same number)")
        }
        self.arena = arena
        self.group = group
        self.shards = shards
        perRank = shards / group.size
        chunk = (arena.count + group.size - 1) / group.size
        let blocks = perRank * group.size * chunk
        send = .allocate(capacity: blocks)
        receive = .allocate(capacity: blocks)
        gathered = .allocate(capacity: group.size * chunk)
        send.initialize(repeating: 0, count: blocks)
        receive.initialize(repeating: 0, count: blocks)
        gathered.initialize(repeating: 0, count: group.size * chunk)
    }

    deinit {
        send.deallocate()
        receive.deallocate()
        gathered.deallocate()
    }

    /// Keeps the arena's gradients as those of local shard `q` (0..<shards/size); zero the arena before
    /// computing the next shard.
    public func keep(localShard q: Int) {
        precondition((0..<perRank).contains(q), "local shard \(q) of \(perRank)")
        let g = UnsafePointer(arena.gradientPointer), n = arena.count
        for j in 0..<group.size {
            let start = j * chunk, count = Swift.max(0, Swift.min(chunk, n - start))
            // Block for rank j, shard q within it; the tail past the arena stays zero.
            if count > 0 { (send + (j * perRank + q) * chunk).update(from: g + start, count: count) }
        }
    }

    /// Replaces the arena's gradients by the sum of every shard's, in shard order, on every rank.
    public func reduce() throws {
        try group.allToAll(send, count: perRank * chunk, into: receive, "gradient shards")
        // Received: rank i's shards i·perRank… in rank order, i.e. global shard order.
        let mine = gathered + group.rank * chunk
        let received = UnsafePointer(receive), c = chunk, s = shards
        let pieces = Swift.max(1, Swift.min(64, c / 16_384))
        Parallel.forEach(pieces) { p in
            // Element-wise, so how the elements are split between threads does not change any sum.
            let lo = c * p / pieces, hi = c * (p + 1) / pieces
            if lo == hi { return }
            (mine + lo).update(from: received + lo, count: hi - lo)
            for shard in 1..<Swift.max(1, s) {
                let src = received + shard * c
                for e in lo..<hi { mine[e] += src[e] }
            }
        }
        try group.allGather(UnsafeRawBufferPointer(start: mine, count: c * 4),
                            into: UnsafeMutableRawBufferPointer(start: gathered, count: group.size * c * 4), "summed gradients")
        arena.gradientPointer.update(from: gathered, count: arena.count)
    }
}

extension ParameterArena {
    /// A 64-bit checksum of the packed values (FNV-1a over 64-bit words, then a SplitMix finaliser): the
    /// cheap test that ranks hold the same parameters. Not cryptographic.
    public func valueChecksum() -> UInt64 {
        Self.checksum(UnsafeRawBufferPointer(start: valuePointer, count: count * 4))
    }

    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt64 = 0xCBF2_9CE4_8422_2325) -> UInt64 {
        var h = seed
        let words = bytes.count / 8
        for i in 0..<words { h = (h ^ bytes.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x0000_0100_0000_01B3 }
        for i in (words * 8)..<bytes.count { h = (h ^ UInt64(bytes[i])) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 30; h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 27; h = h &* 0x94D0_49BB_1331_11EB
        return h ^ (h >> 31)
    }
}

extension ProcessGroup {
    /// Gathers every rank's `value` and throws, on every rank alike, when any differs from rank 0's,
    /// naming those ranks and `what` differed.
    public func requireAgreement(_ value: UInt64, _ what: String) throws {
        let all = try allGather(value, what)
        let differing = all.indices.filter { all[$0] != all[0] }
        guard differing.isEmpty else {
            throw TrainingError(message: "rank\(differing.count > 1 ? "s" : "") \(differing.map(String.init).joined(separator: ", ")) of \(size): \(what) differ\(differing.count > 1 ? "" : "s") from rank 0's (checksum \(String(all[differing[0]], radix: 16)) against \(String(all[0], radix: 16)))")
        }
    }
}

extension TrainingRun {
    /// The gradient shard count the run folder's checkpoint was trained with (1 for a checkpoint from
    /// before sharding; nil without a checkpoint): a resumed run keeps it unless told otherwise.
    public static func savedGradientShards(in runDirectory: URL) -> Int? {
        let manifest = runDirectory.appendingPathComponent("checkpoint/checkpoint.json")
        guard let data = try? Data(contentsOf: manifest),
              let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        let extra = json["extra"] as? [String: String] ?? [:]
        return extra["gradient_shards"].flatMap(Int.init) ?? 1
    }
}
