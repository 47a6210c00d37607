import Foundation
import Synchronization
import XCTest
@testable import LatteKernels

final class ParallelTests: XCTestCase {
    /// Every index runs exactly once, for counts below, at and above the thread count.
    func testEveryIndexRunsExactlyOnce() {
        for threads in [1, 2, 3] {
            Parallel.withThreadCount(threads) {
                for count in [0, 1, 2, 3, 17, 1000] {
                    let hits = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: max(count, 1))
                    for i in 0..<count { (hits + i).initialize(to: Atomic(0)) }
                    Parallel.forEach(count) { i in hits[i].add(1, ordering: .relaxed) }
                    for i in 0..<count {
                        XCTAssertEqual(hits[i].load(ordering: .relaxed), 1, "threads \(threads) count \(count) index \(i)")
                    }
                    hits.deinitialize(count: count)
                    hits.deallocate()
                }
            }
        }
    }

    func testNestedCallsRunInlineWithoutDeadlock() {
        Parallel.withThreadCount(2) {
            let total = Atomic<Int>(0)
            Parallel.forEach(8) { i in
                XCTAssertTrue(Parallel.isInsideParallelRegion)
                Parallel.forEach(10) { j in total.add(i * 10 + j, ordering: .relaxed) }
            }
            XCTAssertEqual(total.load(ordering: .relaxed), (0..<80).reduce(0, +))
            XCTAssertFalse(Parallel.isInsideParallelRegion)
        }
    }

    func testUsesMoreThanOneThreadWhenAsked() {
        // Both tasks block until the other has started: this finishes only if they run concurrently.
        Parallel.withThreadCount(2) {
            let started = Atomic<Int>(0)
            let deadline = Date().addingTimeInterval(5)
            let bothRan = Atomic<Int>(0)
            Parallel.forEach(2) { _ in
                started.add(1, ordering: .sequentiallyConsistent)
                while started.load(ordering: .sequentiallyConsistent) < 2 && Date() < deadline {}
                if started.load(ordering: .sequentiallyConsistent) == 2 { bothRan.add(1, ordering: .relaxed) }
            }
            XCTAssertEqual(bothRan.load(ordering: .relaxed), 2)
        }
    }

    func testConcurrentCallersFromOtherThreads() {
        // Two outside threads dispatch at once: one owns the pool, the other runs inline; both finish.
        Parallel.withThreadCount(2) {
            let sums = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 2)
            sums.initialize(to: Atomic(0))
            (sums + 1).initialize(to: Atomic(0))
            DispatchQueue.concurrentPerform(iterations: 2) { caller in
                for _ in 0..<200 {
                    Parallel.forEach(16) { i in sums[caller].add(i, ordering: .relaxed) }
                }
            }
            XCTAssertEqual(sums[0].load(ordering: .relaxed), 200 * 120)
            XCTAssertEqual(sums[1].load(ordering: .relaxed), 200 * 120)
            sums.deinitialize(count: 2)
            sums.deallocate()
        }
    }

    func testWithThreadCountRestores() {
        let before = Parallel.threadCount
        Parallel.withThreadCount(before + 1) { XCTAssertEqual(Parallel.threadCount, before + 1) }
        XCTAssertEqual(Parallel.threadCount, before)
    }
}
