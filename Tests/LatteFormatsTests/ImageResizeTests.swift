import XCTest
@testable import LatteFormats

final class ImageResizeTests: XCTestCase {
    /// Every resize fixture within 1/255 of Pillow; the worst case seen is printed for the docs.
    func testResizeMatchesPillowWithinOneLevel() throws {
        let manifest = try ImageFixtureManifest.load()
        XCTAssertGreaterThanOrEqual(manifest.resize.count, 50)
        var worst = 0, exact = 0
        for case_ in manifest.resize {
            let source = try PNG.read(ImageFixtureManifest.path(case_.source))
            let expected = try PNG.read(ImageFixtureManifest.path(case_.expected))
            let filter: ResampleFilter = case_.filter == "bilinear" ? .bilinear : .bicubic
            let ours = source.resized(width: case_.width, height: case_.height, filter: filter)
            let diff = maxAbsDifference(ours, expected, case_.expected)
            XCTAssertLessThanOrEqual(diff, 1, case_.expected)
            worst = max(worst, diff)
            if diff == 0 { exact += 1 }
        }
        print("resize parity vs Pillow \(manifest.pillow): \(exact)/\(manifest.resize.count) cases exact, worst difference \(worst)/255")
    }

    func testFloatResizeAgreesWithEightBitPath() throws {
        let source = try PNG.read(ImageFixtureManifest.path("sources/rgb.png"))
        for (w, h) in [(18, 14), (80, 61), (5, 7)] {
            // Bilinear weights are non-negative, so neither path clamps between passes; the 8-bit
            // path rounds after each pass, the float path once at the end.
            let eight = source.resized(width: w, height: h, filter: .bilinear)
            let float = source.toFloat().resized(width: w, height: h, filter: .bilinear).toImage()
            XCTAssertLessThanOrEqual(maxAbsDifference(eight, float, "\(w)x\(h)"), 1)
        }
    }

    func testConstantImageStaysConstant() {
        let image = Image(width: 17, height: 11, channels: 3, fill: [10, 200, 77])
        for filter in [ResampleFilter.bilinear, .bicubic] {
            XCTAssertEqual(image.resized(width: 40, height: 5, filter: filter), Image(width: 40, height: 5, channels: 3, fill: [10, 200, 77]))
        }
    }
}
