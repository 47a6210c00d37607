import Foundation
import XCTest
@testable import LatteFormats

/// The study's charts: points land where their axes say (linear and log), ranges and labels are drawn,
/// ticks are round values, the heatmap colours by value, and a JSON specification is read strictly.
final class LinePlotTests: XCTestCase {
    func pixels(_ image: Image, _ rgb: [UInt8]) -> [(x: Int, y: Int)] {
        stride(from: 0, to: image.pixels.count, by: 3).filter { Array(image.pixels[$0..<($0 + 3)]) == rgb }
            .map { (x: ($0 / 3) % image.width, y: ($0 / 3) / image.width) }
    }

    func testPointsLandWhereTheAxesPutThem() throws {
        // Log x: 1, 10, 100 are evenly spaced; linear y: 10 → 30 climbs evenly.
        let plot = LinePlot(title: "fid vs step", xLabel: "step", yLabel: "FID", xScale: .log,
                            series: [.init(name: "a", points: [(1, 10), (10, 20), (100, 30)], style: .points)])
        let image = plot.render(width: 600, height: 400)
        let marks = pixels(image, LossCurvePlot.palette[0])
        XCTAssertGreaterThan(marks.count, 3 * 20, "three discs (and the legend swatch)")
        // The discs' pixels (the legend swatch, at the top right left of the last disc, left out), clustered by x.
        let legend = { (p: (x: Int, y: Int)) in (525..<560).contains(p.x) && p.y < 64 }
        var clusters: [[(x: Int, y: Int)]] = []
        for p in marks.filter({ !legend($0) }).sorted(by: { $0.x < $1.x }) {
            if let last = clusters.last?.last, p.x - last.x <= 10 { clusters[clusters.count - 1].append(p) } else { clusters.append([p]) }
        }
        let discs = clusters.map { group in
            (x: Double(group.map(\.x).reduce(0, +)) / Double(group.count), y: Double(group.map(\.y).reduce(0, +)) / Double(group.count))
        }
        XCTAssertEqual(discs.count, 3, "\(discs)")
        XCTAssertEqual(discs[1].x - discs[0].x, discs[2].x - discs[1].x, accuracy: 2, "decades are equally wide on a log axis")
        XCTAssertEqual(discs[0].y - discs[1].y, discs[1].y - discs[2].y, accuracy: 2, "equal steps in y are equal heights")
        XCTAssertGreaterThan(discs[0].y, discs[2].y, "larger y is higher up")
    }

    func testLinesRangesAndNoData() {
        let plot = LinePlot(series: [.init(name: "experts", points: [(0, 1), (1, 2), (2, .nan), (3, 4)], style: .line, labels: ["", "", "", "K=5"],
                                           ranges: [nil, (1.5, 2.5), nil, nil]),
                                     .init(name: "vanilla", points: [(0, 2), (3, 3)], style: .lineAndPoints)])
        let image = plot.render(width: 500, height: 300)
        XCTAssertGreaterThan(pixels(image, LossCurvePlot.palette[0]).count, 150, "the line of the first series")
        XCTAssertGreaterThan(pixels(image, LossCurvePlot.palette[1]).count, 150, "the second series")
        let empty = LinePlot(xScale: .log, series: [.init(name: "x", points: [(0, 1), (-1, 2)])]).render(width: 200, height: 100)
        XCTAssertTrue(empty.pixels.contains(0), "non-positive x on a log axis: nothing to draw, a NO DATA label instead")
    }

    func testTicksAreRoundValues() throws {
        let axis = try XCTUnwrap(LinePlot.Axis(values: [13, 87], scale: .linear))
        XCTAssertEqual(axis.ticks, [0, 20, 40, 60, 80, 100])
        let log = try XCTUnwrap(LinePlot.Axis(values: [0.03, 2], scale: .log))
        XCTAssertEqual(try XCTUnwrap(log.ticks.first), 0.01, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(log.ticks.last), 10, accuracy: 1e-9)
        XCTAssertTrue(log.ticks.contains { abs($0 - 0.5) < 1e-12 }, "2× and 5× marks over three decades: \(log.ticks)")
        XCTAssertEqual(LinePlot.Axis.format(6000), "6K")
        XCTAssertEqual(LinePlot.Axis.format(0.25), "0.25")
        XCTAssertEqual(LinePlot.Axis.format(2e7), "2E+07")
    }

    func testHeatmapColoursByValueAndGreysMissingCells() {
        let map = HeatmapPlot(rowLabels: ["L1 H0", "L2 H0"], columns: [0, 0.5, 1], values: [[1, nil, -1], [0, 0.5, nil]])
        XCTAssertEqual(map.color(1), [200, 30, 30])
        XCTAssertEqual(map.color(-1), [30, 70, 200])
        XCTAssertEqual(map.color(0), [255, 255, 255])
        XCTAssertEqual(map.color(nil), [215, 215, 215])
        let image = map.render(width: 400)
        XCTAssertGreaterThan(pixels(image, [200, 30, 30]).count, 100, "the +1 cell is full red")
        XCTAssertGreaterThan(pixels(image, [30, 70, 200]).count, 100, "the −1 cell is full blue")
    }

    func testASpecificationIsDrawnAndMistakesAreNamed() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("plot-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let png = dir.appendingPathComponent("a.png").path
        try PlotSpecification.render(json: Data(#"""
            {"kind": "line", "title": "t", "x_scale": "log", "width": 300, "height": 200,
             "series": [{"name": "K=5", "points": [[1000, 80], [2000, 60.5]], "labels": ["", "2K"], "ranges": [null, [59, 62]]}]}
            """#.utf8), to: png)
        let image = try PNG.decode(Array(try Data(contentsOf: URL(fileURLWithPath: png))))
        XCTAssertEqual([image.width, image.height], [300, 200])
        try PlotSpecification.render(json: Data(#"{"kind": "heatmap", "columns": [0, 1], "rows": ["a"], "values": [[0.5, null]]}"#.utf8), to: png)

        let cases: [(String, String)] = [
            (#"{"series": [], "colour": 1}"#, #"unknown key "colour""#),
            (#"{"series": [{"name": "a", "points": [[1]]}]}"#, "each point must be [x, y]"),
            (#"{"series": [{"points": [[1, 2]], "style": "dots"}]}"#, #""style" must be"#),
            (#"{"series": [], "x_scale": "ln"}"#, #""x_scale" must be "linear" or "log""#),
            (#"{"kind": "pie"}"#, #""kind" must be "line" or "heatmap""#),
            (#"{"kind": "heatmap", "columns": [0, 1], "rows": ["a"], "values": [[1]]}"#, "row 0 has 1 cells but there are 2 columns"),
            (#"[1]"#, "not a JSON object"),
        ]
        for (json, message) in cases {
            XCTAssertThrowsError(try PlotSpecification.render(json: Data(json.utf8), to: png), json) {
                XCTAssertTrue("\($0)".contains(message), "\(json): \($0)")
            }
        }
    }
}
