// The processes of a data-parallel run and the few collective operations training needs. One process
// is a group of one (`SingleProcessGroup`), so the trainer's sharded step runs the same code, and so
// the same arithmetic, in one process as across many (`MPIProcessGroup`).

public protocol ProcessGroup: AnyObject {
    /// This process's index, 0..<size; rank 0 writes checkpoints, logs and exports.
    var rank: Int { get }
    var size: Int { get }
    /// Returns when every rank has called it; `timeout` (seconds) replaces the group's own for this wait
    /// (`.infinity` while rank 0 alone prepares data, which may take hours).
    func barrier(_ what: String, timeout: Double?) throws
    /// Rank `root`'s `bytes` replace every other rank's.
    func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int, _ what: String) throws
    /// Every rank's `send` (equal lengths), concatenated in rank order, into `receive` (size × that length).
    func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, _ what: String) throws
    /// `send` holds `size` blocks of `count` floats, block j for rank j; `receive` gets rank i's block
    /// for this rank at block i.
    func allToAll(_ send: UnsafePointer<Float>, count: Int, into receive: UnsafeMutablePointer<Float>, _ what: String) throws
}

extension ProcessGroup {
    public var isWriter: Bool { rank == 0 }

    public func barrier(_ what: String) throws { try barrier(what, timeout: nil) }

    /// Every rank's `value`, in rank order.
    public func allGather(_ value: UInt64, _ what: String) throws -> [UInt64] {
        var send = value
        var out = [UInt64](repeating: 0, count: size)
        try withUnsafeBytes(of: &send) { s in try out.withUnsafeMutableBytes { try allGather(s, into: $0, what) } }
        return out
    }

    /// Every rank's floats (the same count on each), concatenated in rank order.
    public func allGather(_ values: [Float], _ what: String) throws -> [Float] {
        var out = [Float](repeating: 0, count: values.count * size)
        try values.withUnsafeBytes { s in try out.withUnsafeMutableBytes { try allGather(s, into: $0, what) } }
        return out
    }
}

/// A run of one process: every collective is a copy.
public final class SingleProcessGroup: ProcessGroup {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func barrier(_ what: String, timeout: Double?) {}
    public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, root: Int, _ what: String) {}
    public func allGather(_ send: UnsafeRawBufferPointer, into receive: UnsafeMutableRawBufferPointer, _ what: String) {
        receive.copyMemory(from: send)
    }
    public func allToAll(_ send: UnsafePointer<Float>, count: Int, into receive: UnsafeMutablePointer<Float>, _ what: String) {
        receive.update(from: send, count: count)
    }
}
