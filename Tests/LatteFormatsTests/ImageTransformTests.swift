import Foundation
import XCTest
@testable import LatteFormats

final class ImageTransformTests: XCTestCase {
    private func ramp(width: Int = 5, height: Int = 4, channels: Int = 3) -> Image {
        Image(width: width, height: height, channels: channels,
              pixels: (0..<(width * height * channels)).map { UInt8($0 % 256) })
    }

    func testCropPicksTheRectangle() throws {
        let image = ramp()
        let crop = try image.cropped(x: 1, y: 2, width: 3, height: 2)
        for y in 0..<2 { for x in 0..<3 { for c in 0..<3 { XCTAssertEqual(crop[x, y, c], image[x + 1, y + 2, c]) } } }
        XCTAssertThrowsError(try image.cropped(x: 3, y: 0, width: 3, height: 1))
    }

    func testCenterCropOffsetsAndPadding() throws {
        let image = ramp(width: 6, height: 5, channels: 1)
        // torchvision: top = round((5 - 2) / 2) = 2 (half to even), left = round((6 - 3) / 2) = 2.
        XCTAssertEqual(try image.centerCropped(width: 3, height: 2), try image.cropped(x: 2, y: 2, width: 3, height: 2))
        let bigger = try image.centerCropped(width: 8, height: 5, fill: 9)
        XCTAssertEqual(bigger.width, 8)
        XCTAssertEqual(bigger[0, 0, 0], 9)
        XCTAssertEqual(bigger[1, 0, 0], image[0, 0, 0])
        XCTAssertEqual(bigger[7, 4, 0], 9)
    }

    func testPadPlacesImageAndFill() throws {
        let image = ramp(width: 2, height: 2, channels: 2)
        let padded = try image.padded(left: 1, top: 2, right: 3, bottom: 0, fill: [7, 8])
        XCTAssertEqual(padded.width, 6)
        XCTAssertEqual(padded.height, 4)
        XCTAssertEqual([padded[0, 0, 0], padded[0, 0, 1]], [7, 8])
        XCTAssertEqual(padded[1, 2, 1], image[0, 0, 1])
        XCTAssertEqual(padded[2, 3, 0], image[1, 1, 0])
        XCTAssertEqual(padded[5, 3, 1], 8)
        XCTAssertThrowsError(try image.padded(left: 1, top: 0, right: 0, bottom: 0, fill: [1]))
    }

    func testFlipsAreInvolutions() {
        let image = ramp()
        let h = image.flippedHorizontally()
        XCTAssertEqual(h[0, 1, 2], image[4, 1, 2])
        XCTAssertEqual(h.flippedHorizontally(), image)
        let v = image.flippedVertically()
        XCTAssertEqual(v[3, 0, 1], image[3, 3, 1])
        XCTAssertEqual(v.flippedVertically(), image)
    }

    func testGrayConversionMatchesPillow() throws {
        let manifest = try ImageFixtureManifest.load()
        let case_ = try XCTUnwrap(manifest.convert.first { $0.conversion == "rgb_to_gray" })
        let gray = try PNG.read(ImageFixtureManifest.path(case_.source)).toGray()
        XCTAssertEqual(maxAbsDifference(gray, try PNG.read(ImageFixtureManifest.path(case_.expected)), "L"), 0)
        let rgb = gray.toRGB()
        XCTAssertEqual(rgb.channels, 3)
        XCTAssertEqual(rgb[3, 2, 1], gray[3, 2, 0])
    }

    func testCompositeOverWhite() {
        let image = Image(width: 1, height: 2, channels: 4, pixels: [200, 0, 100, 0, 200, 0, 100, 255])
        XCTAssertEqual(image.composited(over: [255, 255, 255]).pixels, [255, 255, 255, 200, 0, 100])
    }

    func testNormaliseAndPlanarRoundTrip() {
        let image = ramp(width: 3, height: 2, channels: 3)
        let planar = image.planarFloats(mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
        // CHW: element (c=1, y=1, x=2) is HWC sample (y=1, x=2, c=1).
        XCTAssertEqual(planar[1 * 6 + 1 * 3 + 2], Float(image[2, 1, 1]) / 255 * 2 - 1, accuracy: 1e-6)
        XCTAssertEqual(Image(planar: planar, width: 3, height: 2, channels: 3, mean: [0.5], std: [0.5]), image)
        let back = FloatImage(planar: image.toFloat().planar(), width: 3, height: 2, channels: 3)
        XCTAssertEqual(back, image.toFloat())
    }

    func testGridLayoutAndWrite() throws {
        let a = Image(width: 4, height: 3, channels: 3, fill: [255, 0, 0])
        let b = Image(width: 4, height: 3, channels: 1, fill: [40])
        let grid = try ImageGrid.make([a, b, a], columns: 2, margin: 1, background: 255)
        XCTAssertEqual(grid.width, 2 * 4 + 3)
        XCTAssertEqual(grid.height, 2 * 3 + 3)
        XCTAssertEqual(grid.channels, 3)
        XCTAssertEqual([grid[0, 0, 0], grid[0, 0, 1]], [255, 255])      // margin
        XCTAssertEqual([grid[1, 1, 0], grid[1, 1, 1]], [255, 0])        // a
        XCTAssertEqual([grid[6, 1, 0], grid[6, 1, 2]], [40, 40])        // b, promoted to RGB
        XCTAssertEqual([grid[1, 5, 0], grid[1, 5, 1]], [255, 0])        // a, second row
        XCTAssertEqual([grid[6, 5, 0], grid[6, 5, 1]], [255, 255])      // empty cell
        let dir = try makeScratchDirectory(self)
        let path = dir.appendingPathComponent("grid.png").path
        try ImageGrid.write([a, b, a], columns: 2, margin: 1, to: path)
        XCTAssertEqual(try PNG.read(path), grid)
        XCTAssertThrowsError(try ImageGrid.make([a, Image(width: 2, height: 2, channels: 3, fill: [0, 0, 0])], columns: 2))
    }
}
