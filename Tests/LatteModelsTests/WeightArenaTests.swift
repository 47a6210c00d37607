import XCTest
import LatteTensor
@testable import LatteModels

/// The huge-page block the GGUF loader puts float32 weights in: slices are 64-byte aligned and do not
/// overlap, a request past its room falls back to ordinary storage, and tensors keep the block alive
/// after the arena itself is dropped.
final class WeightArenaTests: XCTestCase {
    func testSlicesAlignedDisjointAndOutliveTheArena() {
        var arena: WeightArena? = WeightArena(elementCounts: [10, 3, 100])
        let tensors = [[2, 5], [3], [10, 10], [7]].map { arena!.tensor($0) }
        arena = nil
        for (i, t) in tensors.enumerated() {
            XCTAssertEqual(Int(bitPattern: t.f32) % 64, 0, "tensor \(i) not 64-byte aligned")
            for e in 0..<t.count { t.f32[e] = Float(i * 1000 + e) }
        }
        // Written one after another, read back after: any overlap would show as overwritten values.
        for (i, t) in tensors.enumerated() {
            XCTAssertEqual((0..<t.count).map { t.f32[$0] }, (0..<t.count).map { Float(i * 1000 + $0) }, "tensor \(i)")
            XCTAssertEqual(t.shape, [[2, 5], [3], [10, 10], [7]][i])
        }
        // The fourth request did not fit the three counts the arena was sized for.
        let first = Int(bitPattern: tensors[0].f32), fourth = Int(bitPattern: tensors[3].f32)
        XCTAssertFalse((first..<(first + 64 + 64 + 448)).contains(fourth), "the overflow tensor landed inside the arena")
    }
}
