import Foundation
import LatteTensor
import XCTest
import LatteTestSupport
@testable import LatteEval

/// The reference set's FID statistics are cached by content (FashionMNISTFID.statisticsFile): the same
/// images map to the same file, one changed pixel to another, and the file sits in the asset cache's
/// Inception folder under statistics/.
final class FIDStatisticsCacheTests: XCTestCase {
    func testStatisticsFileIsKeyedByContent() throws {
        _ = try PinnedAssets.require(InceptionFIDWeights.assetName)
        let a = randomImages(seed: 1), b = randomImages(seed: 1)
        var changed = a.toArray()
        changed[17] = changed[17] > 0.5 ? 0 : 1
        let c = Tensor(changed, shape: a.shape)
        let (ua, ub, uc) = (try FashionMNISTFID.statisticsFile(for: a), try FashionMNISTFID.statisticsFile(for: b),
                            try FashionMNISTFID.statisticsFile(for: c))
        XCTAssertEqual(ua, ub)
        XCTAssertNotEqual(ua, uc)
        XCTAssertEqual(ua.deletingLastPathComponent().lastPathComponent, "statistics")
        XCTAssertTrue(ua.lastPathComponent.hasPrefix("fashion-mnist-t10k-"), ua.path)
    }

    func randomImages(seed: UInt64) -> Tensor {
        var rng = seed &* 0x9E37_79B9_7F4A_7C15 | 1
        let values = (0..<(3 * 28 * 28)).map { _ -> Float in
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
            return Float(rng % 256) / 255
        }
        return Tensor(values, shape: [3, 1, 28, 28])
    }
}
