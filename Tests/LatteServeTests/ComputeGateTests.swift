import Foundation
import XCTest
@testable import LatteServe

/// The compute gate serves callers in arrival order, so a caller that takes it again and again (a chat
/// client decoding token after token) cannot keep a waiting one (the image runner's next tick) out.
final class ComputeGateTests: XCTestCase {
    func testAWaitingCallerGoesBeforeACallerThatArrivedLater() {
        let gate = ComputeGate()
        let log = OrderLog()
        let note = log.note
        let holding = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0)
        let done = DispatchGroup()

        Thread.detachNewThread { gate.run { holding.signal(); release.wait() } }
        holding.wait()
        done.enter()
        Thread.detachNewThread { gate.run { note("waiter") }; done.leave() }
        Thread.sleep(forTimeInterval: 0.2)   // the waiter has taken its ticket
        done.enter()
        Thread.detachNewThread {
            // A hog: 1,000 short turns back to back, as a decoding chat client takes the gate.
            for _ in 0..<1000 { gate.run { note("hog") } }
            done.leave()
        }
        Thread.sleep(forTimeInterval: 0.2)   // the hog is waiting behind the waiter
        release.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success, "the gate never let the callers through")
        XCTAssertEqual(log.entries.first, "waiter", "a caller that arrived later went first")
        XCTAssertEqual(log.entries.count, 1001)
    }

    func testYieldLetsEveryWaitingCallerGoFirst() {
        let gate = ComputeGate()
        let log = OrderLog()
        let note = log.note
        let inside = DispatchSemaphore(value: 0), proceed = DispatchSemaphore(value: 0)
        let done = DispatchGroup()
        done.enter()
        Thread.detachNewThread {
            gate.run {
                note("tick 1"); inside.signal(); proceed.wait()
                gate.yield()
                note("tick 2")
            }
            done.leave()
        }
        inside.wait()
        for i in 0..<3 {
            done.enter()
            Thread.detachNewThread { gate.run { note("chat") }; done.leave() }
            Thread.sleep(forTimeInterval: 0.05 * Double(i + 1))
        }
        Thread.sleep(forTimeInterval: 0.2)
        proceed.signal()
        XCTAssertEqual(done.wait(timeout: .now() + 30), .success)
        XCTAssertEqual(log.entries, ["tick 1", "chat", "chat", "chat", "tick 2"])
    }
}

/// What the callers did, in the order they did it (appended from many threads).
private final class OrderLog: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func note(_ s: String) { lock.lock(); list.append(s); lock.unlock() }
    var entries: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
