import Foundation

/// One model computation at a time: image sampling and chat decoding share the CPU thread pool and the
/// backbone, neither of which is safe to drive from two threads at once. The image runner gives the gate
/// up between sampling steps, so a chat request waits at most one step, not a whole job.
public final class ComputeGate: @unchecked Sendable {
    private let lock = NSLock()

    public init() {}

    public func run<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Inside `run`: lets a waiting caller in, then takes the gate back.
    public func yield() {
        lock.unlock()
        // An unfair lock would hand itself straight back; a short pause lets a waiter take it.
        usleep(200)
        lock.lock()
    }
}
