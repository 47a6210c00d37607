import Foundation
import LatteTensor
import XCTest
@testable import LatteEval

/// The Fréchet distance against fid-helper-pytorch's formula (np.cov + scipy.linalg.sqrtm) on the
/// random feature sets of scripts/make_fid_fixtures.py, and the eigensolver on its own.
final class FrechetDistanceTests: XCTestCase {
    func testMatchesScipySqrtmReference() throws {
        let sets = try Safetensors.read(contentsOf: InceptionFIDTests.fixture("frechet_sets.safetensors")).tensors
        let data = try Data(contentsOf: InceptionFIDTests.fixture("frechet_reference.json"))
        let reference = try JSONSerialization.jsonObject(with: data) as! [String: [String: Double]]
        for (name, (x, y)) in ["a1_b1": ("a1", "b1"), "a2_b2": ("a2", "b2"), "a1_a1": ("a1", "a1")] {
            let a = try FIDStatistics(features: sets[x]!), b = try FIDStatistics(features: sets[y]!)
            let terms = try FrechetDistance.terms(a, b)
            let expected = reference[name]!
            XCTAssertEqual(terms.meanTerm, expected["mean_term"]!, accuracy: 1e-6 * max(1, expected["mean_term"]!), name)
            XCTAssertEqual(terms.traceSqrt, expected["trace_sqrt"]!, accuracy: 1e-5 * expected["trace_sqrt"]!, name)
            // The identical pair is ~0 in both (a difference of large traces), so compare it absolutely.
            XCTAssertEqual(terms.fid, expected["fid"]!, accuracy: max(1e-4 * abs(expected["fid"]!), 1e-6 * expected["trace_sqrt"]!), name)
        }
    }

    func testEigenDecompositionReconstructsTheMatrix() throws {
        var g = RandomGenerator(seed: 7)
        for n in [1, 2, 3, 17, 64] {
            let b = (0..<(n * n)).map { _ in Double(g.nextNormal()) }
            // A = B·Bᵀ + diagonal: symmetric, with a spread of eigenvalues.
            var a = [Double](repeating: 0, count: n * n)
            for r in 0..<n { for c in 0..<n { for k in 0..<n { a[r * n + c] += b[r * n + k] * b[c * n + k] } } }
            for i in 0..<n { a[i * n + i] += Double(i) }
            let eig = try SymmetricEigen(symmetric: a, n: n, computeVectors: true)
            var worst = 0.0, scale = 0.0
            for r in 0..<n {
                for c in 0..<n {
                    var s = 0.0
                    for k in 0..<n { s += eig.vectorRows[k * n + r] * eig.values[k] * eig.vectorRows[k * n + c] }
                    worst = max(worst, abs(s - a[r * n + c]))
                    scale = max(scale, abs(a[r * n + c]))
                }
            }
            XCTAssertLessThan(worst, 1e-10 * scale * Double(n), "n = \(n): V·Λ·Vᵀ differs from A by \(worst)")
            // Orthonormal eigenvectors.
            for i in 0..<n {
                for j in 0..<n {
                    var dot = 0.0
                    for k in 0..<n { dot += eig.vectorRows[i * n + k] * eig.vectorRows[j * n + k] }
                    XCTAssertEqual(dot, i == j ? 1 : 0, accuracy: 1e-10, "n = \(n): rows \(i), \(j)")
                }
            }
            let valuesOnly = try SymmetricEigen(symmetric: a, n: n, computeVectors: false)
            for (u, v) in zip(valuesOnly.values, eig.values) { XCTAssertEqual(u, v, accuracy: 1e-9 * scale) }
            XCTAssertEqual(eig.values, eig.values.sorted())
        }
    }

    func testSemidefiniteCovarianceGivesFiniteDistance() throws {
        // Fewer samples than dimensions: rank-deficient covariances, as a small generated set gives.
        var g = RandomGenerator(seed: 3)
        let a = try FIDStatistics(features: Tensor.normal([10, 32], generator: &g))
        let b = try FIDStatistics(features: Tensor.normal([12, 32], generator: &g))
        let fid = try FrechetDistance.between(a, b)
        XCTAssertTrue(fid.isFinite && fid > 0, "FID \(fid)")
        // The identical pair cancels traces of ~32: zero up to rounding of that size.
        let trace = (0..<32).reduce(0.0) { $0 + a.covariance[$1 * 32 + $1] }
        XCTAssertEqual(try FrechetDistance.between(a, a), 0, accuracy: 1e-6 * trace)
    }

    func testStatisticsFileRoundTrip() throws {
        var g = RandomGenerator(seed: 5)
        let stats = try FIDStatistics(features: Tensor.normal([20, 6], generator: &g))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fid-stats-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try stats.write(to: url, metadata: ["images": "test"])
        let back = try FIDStatistics(contentsOf: url)
        XCTAssertEqual(back.count, 20)
        XCTAssertEqual(back.mean, stats.mean)
        XCTAssertEqual(back.covariance, stats.covariance)
        // Safetensors readers see it as an ordinary file.
        XCTAssertThrowsError(try FIDStatistics(contentsOf: InceptionFIDTests.fixture("fid_image_0.png")))
    }

    func testMismatchedDimensionsThrow() throws {
        var g = RandomGenerator(seed: 9)
        let a = try FIDStatistics(features: Tensor.normal([5, 4], generator: &g))
        let b = try FIDStatistics(features: Tensor.normal([5, 3], generator: &g))
        XCTAssertThrowsError(try FrechetDistance.between(a, b))
        XCTAssertThrowsError(try FIDStatistics(features: Tensor.zeros([1, 4])))
    }
}

/// The cached reference factor: the same distance as from the statistics alone, and a factor file that
/// belongs to other statistics is refused.
final class FIDReferenceTests: XCTestCase {
    func testFactoredReferenceGivesTheSameDistanceAndRoundTrips() throws {
        var g = RandomGenerator(seed: 11)
        let generated = try FIDStatistics(features: Tensor.normal([40, 24], generator: &g))
        let real = try FIDStatistics(features: Tensor.normal([50, 24], generator: &g) * 1.3 + 0.2)
        let reference = try FIDReference(statistics: real)
        // Σ_r = Fᵀ·F.
        let n = 24
        var worst = 0.0
        for r in 0..<n { for c in 0..<n {
            var s = 0.0
            for k in 0..<n { s += reference.factor[k * n + r] * reference.factor[k * n + c] }
            worst = max(worst, abs(s - real.covariance[r * n + c]))
        } }
        XCTAssertLessThan(worst, 1e-12 * reference.trace)

        let url = FileManager.default.temporaryDirectory.appendingPathComponent("fid-factor-\(UUID().uuidString).safetensors")
        defer { try? FileManager.default.removeItem(at: url) }
        try reference.writeFactor(to: url)
        let back = try FIDReference(statistics: real, factorFile: url)
        XCTAssertEqual(back.factor, reference.factor)
        XCTAssertEqual(try FrechetDistance.terms(generated, reference: back).fid, try FrechetDistance.terms(generated, real).fid)
        // Symmetric in theory: the other side as reference agrees to rounding.
        let swapped = try FrechetDistance.terms(real, generated)
        XCTAssertEqual(swapped.fid, try FrechetDistance.terms(generated, real).fid, accuracy: 1e-9 * reference.trace)

        // A factor read against statistics of another sample count or dimension is refused by name.
        let other = try FIDStatistics(features: Tensor.normal([49, 24], generator: &g))
        XCTAssertThrowsError(try FIDReference(statistics: other, factorFile: url)) { XCTAssertTrue("\($0)".contains("samples"), "\($0)") }
        let narrower = try FIDStatistics(features: Tensor.normal([50, 23], generator: &g))
        XCTAssertThrowsError(try FIDReference(statistics: narrower, factorFile: url)) { XCTAssertTrue("\($0)".contains("factor"), "\($0)") }
    }
}
