import Foundation
import XCTest
import LatteFlow
import LatteFormats
import LatteNN
import LatteTensor

/// The commands the ablation study (docs/ablations.md) runs, as the real binary parses them:
/// `latte train --group-boundaries` checked before any work, `latte inspect gates` printing the
/// gates a generator computes, `latte plot` drawing a JSON specification.
final class StudyCommandsTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("latte-study-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    func run(_ arguments: [String]) throws -> (status: Int32, output: String, errors: String) {
        let r = try LatteExecutable.run(arguments)
        return (r.status, r.stdout, r.stderr)
    }

    func testGroupBoundariesAreDocumentedAndCheckedBeforeAnyWork() throws {
        let help = try run(["train", "--help"])
        XCTAssertTrue(help.output.contains("--group-boundaries"), help.output)
        for (arguments, expected) in [(["--group-boundaries", "0,0.5,0.4,0.8,0.9,1"], "must be K + 1 = 6 increasing values from 0 to 1"),
                                      (["--group-boundaries", "0,0.5,1"], "must be K + 1 = 6 increasing values"),
                                      (["--groups", "2", "--group-boundaries", "0,half,1"], "'half' is not a number")] {
            let r = try run(["train", "--run-dir", dir.appendingPathComponent("never").path] + arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments)")
            XCTAssertTrue((r.output + r.errors).contains(expected), "\(arguments): \(r.output)\(r.errors)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir.appendingPathComponent("never").path), "refused before any work")
        }
    }

    /// A generator with random gate weights: the command's JSON holds exactly the values the library
    /// computes, marks each layer's active times, and the heatmap is written.
    func testInspectGatesPrintsTheGeneratorsGates() throws {
        let c = GeneratorConfiguration(backbone: "test", layerCount: 4, kvHeads: 2, headDim: 8, width: 16, queryHeads: 4, mlpWidth: 24,
                                       groups: 2, boundaries: [0, 0.4, 1], latentChannels: 2, latentHeight: 4, latentWidth: 4, patchSize: 2, ropeTheta: 100)
        let generator = try LayerwiseTimestepExperts(c, seed: 1)
        var g = RandomGenerator(seed: 5)
        for (_, p) in generator.namedParameters() { p.assign(Tensor.normal(p.value.shape, std: 0.3, generator: &g)) }
        let model = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: model, withIntermediateDirectories: true)
        try c.save(to: model.appendingPathComponent("generator.json"))
        try generator.saveSafetensors(model.appendingPathComponent("generator.safetensors"))

        let png = dir.appendingPathComponent("gates.png").path
        let r = try run(["inspect", "gates", "--model", model.path, "--times", "0,0.25,0.5,1", "--json", "--output", png])
        XCTAssertEqual(r.status, 0, r.errors)
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(r.output.utf8)) as? [String: Any])
        let layers = try XCTUnwrap(object["layers"] as? [[String: Any]])
        XCTAssertEqual(layers.map { $0["layer"] as? Int }, [1, 3], "each group's first layer has no gate")
        let expected = generator.residualGateValues(times: [0, 0.25, 0.5, 1])
        for entry in layers {
            let l = try XCTUnwrap(entry["layer"] as? Int)
            let values = try XCTUnwrap(entry["values"] as? [[Double]])
            for (row, want) in zip(values, expected.layers[l]!) {
                for (a, b) in zip(row, want) { XCTAssertEqual(a, Double(b), accuracy: 1e-6) }
            }
            XCTAssertTrue(values.joined().contains { abs($0) > 1e-3 }, "random gate weights give non-zero gates")
        }
        XCTAssertEqual(layers[0]["active"] as? [Bool], [true, true, false, false], "layer 1 (group 0) acts below t = 0.4")
        XCTAssertEqual(layers[1]["active"] as? [Bool], [false, false, true, true])
        let boundaries = try XCTUnwrap(object["boundaries"] as? [Double])
        XCTAssertEqual(boundaries.count, 3)
        XCTAssertEqual(boundaries[1], 0.4, accuracy: 1e-6)
        let image = try PNG.decode(Array(try Data(contentsOf: URL(fileURLWithPath: png))))
        XCTAssertGreaterThan(image.width, 100)

        // A model without gates says so.
        var off = c
        off.residualAttention = .off
        try off.save(to: model.appendingPathComponent("generator.json"))
        try LayerwiseTimestepExperts(off, seed: 1).saveSafetensors(model.appendingPathComponent("generator.safetensors"))
        let none = try run(["inspect", "gates", "--model", model.path])
        XCTAssertNotEqual(none.status, 0)
        XCTAssertTrue(none.errors.contains("has no residual-attention gates (residual_attention: off"), none.errors)
        let badTimes = try run(["inspect", "gates", "--model", model.path, "--times", "0,2"])
        XCTAssertTrue(badTimes.errors.contains("2.0 lies outside [0, 1]"), badTimes.errors)
    }

    func testPlotDrawsASpecification() throws {
        let spec = dir.appendingPathComponent("spec.json"), png = dir.appendingPathComponent("plot.png")
        try Data(#"{"title": "fid", "series": [{"name": "a", "points": [[1, 2], [2, 3]]}]}"#.utf8).write(to: spec)
        let r = try run(["plot", "--spec", spec.path, "--output", png.path])
        XCTAssertEqual(r.status, 0, r.errors)
        XCTAssertEqual(try PNG.decode(Array(try Data(contentsOf: png))).width, 900)
        try Data(#"{"series": [], "colour": 1}"#.utf8).write(to: spec)
        let bad = try run(["plot", "--spec", spec.path, "--output", png.path])
        XCTAssertNotEqual(bad.status, 0)
        XCTAssertTrue(bad.errors.contains(#"unknown key "colour""#), bad.errors)
    }
}
