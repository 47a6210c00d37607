/// Open-addressing hash map from a scalar sequence (token text) to an Int, with every key stored back to
/// back in one arena: no allocation per token, and byte-exact keys (Swift `String` keys would hash
/// canonically equivalent spellings together and normalise on every hash). Loading a 49k vocabulary
/// and tokenising were dominated by `[Unicode.Scalar]`-keyed Dictionary lookups before this.
struct TokenTable {
    private var arena: [UInt32] = []
    private var starts: [Int32] = []
    private var lengths: [Int32] = []
    private(set) var values: [Int] = []
    /// Entry index + 1; 0 marks an empty slot.
    private var slots: [Int32]
    private var mask: Int

    init(minimumCapacity: Int = 16) {
        var size = 16
        while size < minimumCapacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    var count: Int { values.count }

    @inline(__always) private static func hash(_ p: UnsafeBufferPointer<UInt32>) -> Int {
        // FNV-1a over 32-bit units with a final avalanche; keys are short token strings.
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for v in p { h = (h ^ UInt64(v)) &* 0x0000_0100_0000_01B3 }
        h ^= h >> 29
        h = h &* 0xBF58_476D_1CE4_E5B9
        h ^= h >> 32
        return Int(truncatingIfNeeded: h)
    }

    /// Slot index holding `key`, or the empty slot where it would go.
    @inline(__always) private func find(_ key: UnsafeBufferPointer<UInt32>, hash: Int) -> (slot: Int, entry: Int) {
        var i = hash & mask
        return arena.withUnsafeBufferPointer { a in
            starts.withUnsafeBufferPointer { st in
                lengths.withUnsafeBufferPointer { ln in
                    slots.withUnsafeBufferPointer { sl in
                        while true {
                            let e = Int(sl[i]) - 1
                            if e < 0 { return (i, -1) }
                            if Int(ln[e]) == key.count {
                                let s = Int(st[e])
                                var same = true
                                for k in 0..<key.count where a[s + k] != key[k] { same = false; break }
                                if same { return (i, e) }
                            }
                            i = (i + 1) & mask
                        }
                    }
                }
            }
        }
    }

    func lookup(_ key: UnsafeBufferPointer<UInt32>) -> Int? {
        let (_, e) = find(key, hash: TokenTable.hash(key))
        return e < 0 ? nil : values[e]
    }

    subscript(key: [Unicode.Scalar]) -> Int? {
        key.withUnsafeBufferPointer { p in p.withMemoryRebound(to: UInt32.self) { lookup($0) } }
    }

    subscript(key: ArraySlice<Unicode.Scalar>) -> Int? {
        key.withUnsafeBufferPointer { p in p.withMemoryRebound(to: UInt32.self) { lookup($0) } }
    }

    /// Inserts or, with `overwrite`, replaces; returns false when the key was already present.
    @discardableResult
    mutating func insert(_ key: UnsafeBufferPointer<UInt32>, value: Int, overwrite: Bool = false) -> Bool {
        let h = TokenTable.hash(key)
        let (slot, e) = find(key, hash: h)
        if e >= 0 {
            if overwrite { values[e] = value }
            return false
        }
        slots[slot] = Int32(values.count + 1)
        starts.append(Int32(arena.count))
        lengths.append(Int32(key.count))
        arena.append(contentsOf: key)
        values.append(value)
        if values.count * 2 > slots.count { grow() }
        return true
    }

    @discardableResult
    mutating func insert(_ key: [Unicode.Scalar], value: Int, overwrite: Bool = false) -> Bool {
        key.withUnsafeBufferPointer { p in p.withMemoryRebound(to: UInt32.self) { insert($0, value: value, overwrite: overwrite) } }
    }

    private mutating func grow() {
        let size = slots.count * 2
        var newSlots = [Int32](repeating: 0, count: size)
        let newMask = size - 1
        arena.withUnsafeBufferPointer { a in
            for e in 0..<values.count {
                let s = Int(starts[e])
                var i = TokenTable.hash(UnsafeBufferPointer(rebasing: a[s..<(s + Int(lengths[e]))])) & newMask
                while newSlots[i] != 0 { i = (i + 1) & newMask }
                newSlots[i] = Int32(e + 1)
            }
        }
        slots = newSlots
        mask = newMask
    }

    mutating func removeAll() {
        arena.removeAll(keepingCapacity: true)
        starts.removeAll(keepingCapacity: true)
        lengths.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
        for i in slots.indices { slots[i] = 0 }
    }

    /// Every (key, value) in insertion order.
    func forEach(_ body: ([Unicode.Scalar], Int) -> Void) {
        for e in 0..<values.count {
            let s = Int(starts[e])
            body(arena[s..<(s + Int(lengths[e]))].map { Unicode.Scalar($0)! }, values[e])
        }
    }

    /// The key of entry `e` as a String.
    func keyString(_ e: Int) -> String {
        let s = Int(starts[e])
        var v = String.UnicodeScalarView()
        for u in arena[s..<(s + Int(lengths[e]))] { v.append(Unicode.Scalar(u)!) }
        return String(v)
    }

    func keyScalars(_ e: Int) -> ArraySlice<UInt32> {
        let s = Int(starts[e])
        return arena[s..<(s + Int(lengths[e]))]
    }
}

/// Open-addressing map from a token-id pair to (rank << 32 | merged id), for BPE merges.
struct MergeTable {
    private var keys: [UInt64]
    private var vals: [UInt64]
    private let mask: Int
    private static let empty = UInt64.max

    init(capacity: Int) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        keys = [UInt64](repeating: MergeTable.empty, count: size)
        vals = [UInt64](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always) private static func hash(_ k: UInt64) -> Int {
        var h = k &* 0x9E37_79B9_7F4A_7C15
        h ^= h >> 31
        return Int(truncatingIfNeeded: h)
    }

    /// Keeps the first (lowest-rank) value for a key.
    mutating func insertIfAbsent(_ k: UInt64, _ v: UInt64) {
        var i = MergeTable.hash(k) & mask
        while keys[i] != MergeTable.empty {
            if keys[i] == k { return }
            i = (i + 1) & mask
        }
        keys[i] = k
        vals[i] = v
    }

    @inline(__always) func get(_ k: UInt64) -> UInt64? {
        keys.withUnsafeBufferPointer { ks in
            var i = MergeTable.hash(k) & mask
            while true {
                let x = ks[i]
                if x == k { return vals[i] }
                if x == MergeTable.empty { return nil }
                i = (i + 1) & mask
            }
        }
    }
}
