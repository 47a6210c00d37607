import Foundation
import XCTest
import LatteTensor
@testable import LatteEval

/// `Memorisation` on synthetic features whose answer is known: copies of training points are near-copies,
/// fresh points from the same distribution are flagged about as often as held-out points are.
final class MemorisationTests: XCTestCase {
    func gaussian(_ rows: Int, _ d: Int, seed: UInt64) -> Tensor {
        var g = RandomGenerator(seed: seed)
        return Tensor.normal([rows, d], generator: &g)
    }

    func testNearestDistancesEqualBruteForce() throws {
        let q = gaussian(300, 24, seed: 1), r = gaussian(70, 24, seed: 2)
        let fast = try Memorisation.nearestDistances(queries: q, references: r)
        for i in 0..<300 {
            var best = Double.infinity
            for j in 0..<70 {
                var s = 0.0
                for k in 0..<24 { let d = Double(q.f32[i * 24 + k] - r.f32[j * 24 + k]); s += d * d }
                best = min(best, s.squareRoot())
            }
            XCTAssertEqual(fast[i], best, accuracy: 1e-4 * max(best, 1), "query \(i)")
        }
        XCTAssertThrowsError(try Memorisation.nearestDistances(queries: q, references: gaussian(5, 23, seed: 3))) {
            XCTAssertTrue("\($0)".contains("[5, 23]"), "\($0)")
        }
    }

    func testCopiesOfTrainingPointsAreFlaggedAndFreshPointsAreNot() throws {
        let d = 16
        let training = gaussian(400, d, seed: 10)
        let heldOut = gaussian(200, d, seed: 11)
        // 30 generated points are training points (plus noise far below any real spacing), 170 are fresh.
        let fresh = gaussian(170, d, seed: 12), noise = gaussian(30, d, seed: 13)
        let generated = Tensor.empty([200, d])
        for i in 0..<30 { for k in 0..<d { generated.f32[i * d + k] = training.f32[(i * 13) * d + k] + 1e-3 * noise.f32[i * d + k] } }
        for i in 0..<170 { for k in 0..<d { generated.f32[(30 + i) * d + k] = fresh.f32[i * d + k] } }

        let report = try Memorisation.report(training: training, heldOut: heldOut, generated: generated, percentile: 5)
        let distances = try Memorisation.nearestDistances(queries: generated, references: training)
        XCTAssertTrue(distances[..<30].allSatisfy { $0 < report.threshold }, "every copy is closer than the threshold \(report.threshold)")
        let freshFlagged = distances[30...].filter { $0 < report.threshold }.count
        XCTAssertLessThan(Double(freshFlagged) / 170, 0.15, "fresh points flagged \(freshFlagged)/170")
        XCTAssertEqual(report.flagged, 30 + freshFlagged)
        XCTAssertEqual(report.generated, 200)
        XCTAssertEqual(report.training, 400)
        XCTAssertEqual(report.heldOut, 200)
        // The threshold is the 5th percentile of the held-out distances: 5 % of them (10 of 200, with
        // interpolation between the 10th and 11th smallest) fall below it.
        XCTAssertEqual(report.heldOutFraction, 0.05, accuracy: 0.011)
        XCTAssertGreaterThan(report.threshold, 0)

        // A generator that only copies is flagged entirely; one that draws fresh points scores near the baseline.
        let copies = try Memorisation.report(training: training, heldOut: heldOut, generated: training, percentile: 5)
        XCTAssertEqual(copies.fraction, 1)
        XCTAssertLessThan(copies.generatedMedianDistance, 1e-2)
        let honest = try Memorisation.report(training: training, heldOut: heldOut, generated: fresh, percentile: 5)
        XCTAssertLessThan(honest.fraction, 0.15)
    }

    func testPercentileInterpolatesLikeNumpy() {
        // numpy.percentile([1, 2, 3, 4, 10], q) for q = 0, 5, 50, 90, 100 → 1, 1.2, 3, 7.6, 10.
        let v: [Double] = [10, 2, 4, 1, 3]
        for (q, expected) in [(0.0, 1.0), (5, 1.2), (50, 3), (90, 7.6), (100, 10)] {
            XCTAssertEqual(Memorisation.percentile(v, q), expected, accuracy: 1e-12, "q = \(q)")
        }
        XCTAssertThrowsError(try Memorisation.report(training: gaussian(3, 2, seed: 1), heldOut: gaussian(3, 2, seed: 2),
                                                     generated: gaussian(3, 2, seed: 3), percentile: 101))
    }
}
