import Foundation
import LatteNN
import LatteTensor
import XCTest

/// `LowRankDelta`: a fine-tune whose matrix change has rank 1 comes back exactly from a rank-1 delta;
/// which tensors are factored and which stored whole; and every mismatch between the delta and the
/// weights is refused by key.
final class LowRankDeltaTests: XCTestCase {
    func weights() -> (base: [String: Tensor], tuned: [String: Tensor]) {
        let w = Tensor.randomNormal([8, 6], seed: 1), bias = Tensor.randomNormal([8], seed: 2), small = Tensor.randomNormal([2, 2], seed: 3)
        // The matrix moves along one direction (a rank-1 change); the vector and the small matrix anyhow.
        let a = Tensor.randomNormal([8], seed: 4).toArray(), b = Tensor.randomNormal([6], seed: 5).toArray()
        let moved = Tensor(zip(w.toArray(), (0..<48).map { 0.1 * a[$0 / 6] * b[$0 % 6] }).map { $0 + $1 }, shape: [8, 6])
        return (["w": w, "bias": bias, "small": small],
                ["w": moved, "bias": bias + Tensor.randomNormal([8], seed: 6) * 0.01, "small": small * 1.5])
    }

    func testRankOneChangeComesBackFromARankOneDelta() throws {
        let (base, tuned) = weights()
        let (delta, summary) = try LowRankDelta.extract(base: base, tuned: tuned, rank: 1)
        XCTAssertEqual(Set(delta.keys), ["w.delta_left", "w.delta_right", "bias.delta", "small.delta"],
                       "the 8×6 matrix is factored (1 × 14 < 48 values); the vector and the 2×2 (1 × 4 = 4) are stored whole")
        XCTAssertEqual(delta["w.delta_left"]!.shape, [8, 1])
        XCTAssertEqual(delta["w.delta_right"]!.shape, [1, 6])
        XCTAssertEqual(summary.factoredMatrices, 1)
        XCTAssertEqual(summary.storedValues, 14 + 8 + 4)
        XCTAssertEqual(summary.fullValues, 48 + 8 + 4)
        XCTAssertEqual(summary.energyKept, 1, accuracy: 1e-6)
        let rebuilt = try LowRankDelta.apply(delta, to: base)
        for key in tuned.keys.sorted() {
            let worst = zip(rebuilt[key]!.toArray(), tuned[key]!.toArray()).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(worst, 1e-5, key)
        }
    }

    func testTruncationReportsWhatItLost() throws {
        let base = ["w": Tensor.randomNormal([12, 10], seed: 7)]
        let tuned = ["w": base["w"]! + Tensor.randomNormal([12, 10], seed: 8)]   // a full-rank change
        let (delta, summary) = try LowRankDelta.extract(base: base, tuned: tuned, rank: 2)
        XCTAssertLessThan(summary.energyKept, 0.9)
        XCTAssertGreaterThan(summary.energyKept, 0.2, "two of ten directions of a random change keep more than their 20 % share")
        // The kept share is what the rebuilt weights show: |tuned − rebuilt|² = (1 − kept) |tuned − base|².
        let rebuilt = try LowRankDelta.apply(delta, to: base)["w"]!.toArray()
        let t = tuned["w"]!.toArray(), b = base["w"]!.toArray()
        let lost = zip(t, rebuilt).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        let change = zip(t, b).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        XCTAssertEqual(lost / change, 1 - summary.energyKept, accuracy: 1e-4)
    }

    func testMismatchesAreRefusedByKey() throws {
        let (base, tuned) = weights()
        func message(_ body: () throws -> Void) -> String {
            do { try body(); return "no error" } catch { return "\(error)" }
        }
        XCTAssertTrue(message { _ = try LowRankDelta.extract(base: base, tuned: tuned, rank: 0) }.contains("rank must be at least 1"))
        var other = tuned; other["w"] = Tensor.randomNormal([6, 8], seed: 9)
        XCTAssertTrue(message { _ = try LowRankDelta.extract(base: base, tuned: other, rank: 1) }.contains("'w': base shape [8, 6], tuned shape [6, 8]"))
        var fewer = tuned; fewer["bias"] = nil
        XCTAssertTrue(message { _ = try LowRankDelta.extract(base: base, tuned: fewer, rank: 1) }.contains("the base weights have 'bias', the tuned weights have not"))
        var nan = tuned; nan["small"] = Tensor([Float.nan, 0, 0, 0], shape: [2, 2])
        XCTAssertTrue(message { _ = try LowRankDelta.extract(base: base, tuned: nan, rank: 1) }.contains("'small': the difference is not finite"))

        var delta = try LowRankDelta.extract(base: base, tuned: tuned, rank: 1).tensors
        delta["extra.delta"] = Tensor([1, 2])
        XCTAssertTrue(message { _ = try LowRankDelta.apply(delta, to: base) }.contains("'extra.delta', which belongs to no weight"))
        delta["extra.delta"] = nil
        delta["bias.delta"] = Tensor([1, 2])
        XCTAssertTrue(message { _ = try LowRankDelta.apply(delta, to: base) }.contains("'bias.delta' has shape [2], the weight 'bias' has [8]"))
        delta = try LowRankDelta.extract(base: base, tuned: tuned, rank: 1).tensors
        delta["w.delta_right"] = Tensor.randomNormal([1, 5], seed: 10)
        XCTAssertTrue(message { _ = try LowRankDelta.apply(delta, to: base) }.contains("does not make the weight's shape [8, 6]"))
        delta["w.delta_right"] = nil
        XCTAssertTrue(message { _ = try LowRankDelta.apply(delta, to: base) }.contains("'w.delta_left', which belongs to no weight"), "half a factor pair is a stray")
    }
}
