import Foundation

/// One model computation at a time: image sampling and chat decoding share the CPU thread pool and the
/// backbone, neither of which is safe to drive from two threads at once. The image runner gives the gate
/// up between sampling steps, so a chat request waits at most one step, not a whole job.
///
/// The gate is first come, first served (a ticket lock). An ordinary lock is unfair: a chat client
/// decoding token after token re-takes it the moment it lets go, and with a few chat clients busy the
/// image runner waited minutes for a single tick (`latte bench serve` showed it).
public final class ComputeGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var nextTicket: UInt64 = 0
    private var serving: UInt64 = 0

    public init() {}

    public func run<T>(_ body: () throws -> T) rethrows -> T {
        enter()
        defer { leave() }
        return try body()
    }

    /// Inside `run`: lets every caller already waiting go first, then takes the gate back.
    public func yield() {
        leave()
        enter()
    }

    private func enter() {
        condition.lock()
        let ticket = nextTicket
        nextTicket &+= 1
        while serving != ticket { condition.wait() }
        condition.unlock()
    }

    private func leave() {
        condition.lock()
        serving &+= 1
        condition.broadcast()
        condition.unlock()
    }
}
