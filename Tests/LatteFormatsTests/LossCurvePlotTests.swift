import XCTest
@testable import LatteFormats

final class LossCurvePlotTests: XCTestCase {
    func testCurvesAreDrawnInTheirColoursAndDataOutsideTheLogAxisIsSkipped() throws {
        let falling = (1...200).map { ($0, Float(1) / Float($0)) }
        let flat = (1...200).map { ($0, $0 == 50 ? Float.nan : $0 == 60 ? 0 : Float(0.05)) }
        let image = LossCurvePlot.render([.init(name: "mse", points: falling), .init(name: "l1", points: flat)], width: 400, height: 300)
        XCTAssertEqual(image.width, 400)
        XCTAssertEqual(image.channels, 3)
        func count(_ rgb: [UInt8]) -> Int {
            stride(from: 0, to: image.pixels.count, by: 3).filter { Array(image.pixels[$0..<($0 + 3)]) == rgb }.count
        }
        XCTAssertGreaterThan(count(LossCurvePlot.palette[0]), 200, "the first series' smoothed line")
        XCTAssertGreaterThan(count(LossCurvePlot.palette[1]), 200, "the second series' smoothed line")
        // The flat series at 0.05 lies between the 1e-2 and 1e-1 grid lines: its row is painted.
        let encoded = try PNG.encode(image)
        XCTAssertEqual(try PNG.decode(encoded), image)
    }

    func testNoDataStillGivesAPicture() {
        let image = LossCurvePlot.render([.init(name: "loss", points: [(1, .nan)])], width: 200, height: 100)
        XCTAssertTrue(image.pixels.contains(0), "a 'no data' label is written")
    }
}
