import Foundation
import XCTest
import LatteFlow
import LatteNN
import LatteTensor

/// Non-uniform group boundaries (`latte train --group-boundaries`, `"boundaries"` in a generator config
/// file): they reach generator.json, route training's samples and sampling's steps to the owning group,
/// are refused when malformed, and leave every model trained without them (uniform) as it was.
final class GroupBoundaryTests: XCTestCase {
    func testAConfigFileOrFlagSetsTheBoundariesAndTheConfigurationRecordsThem() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("boundaries-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(#"{"groups": 2, "boundaries": [0, 0.3, 1]}"#.utf8).write(to: url)
        let shape = try GeneratorShape(file: url, flags: .init())
        XCTAssertEqual(shape.boundaries, [0, 0.3, 1])
        // A flag overrides the file's boundaries, as any other key.
        XCTAssertEqual(try GeneratorShape(file: url, flags: .init(boundaries: [0, 0.6, 1])).boundaries, [0, 0.6, 1])

        let geometry = BackboneGeometry(layerCount: 4, kvHeads: 2, headDim: 8, ropeTheta: 100)
        let c = try GeneratorConfiguration(backbone: "test", geometry: geometry, latentShape: [2, 4, 4], shape: shape)
        XCTAssertEqual(c.boundaries, [0, 0.3, 1])
        XCTAssertEqual(c.group(owning: 0.29), 0)
        XCTAssertEqual(c.group(owning: 0.3), 1)
        let saved = FileManager.default.temporaryDirectory.appendingPathComponent("generator-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: saved) }
        try c.save(to: saved)
        XCTAssertEqual(try GeneratorConfiguration.load(from: saved).resolvedBoundaries, [0, 0.3, 1])

        // Without the option nothing is recorded: every earlier generator.json stays as it was.
        let uniform = try GeneratorConfiguration(backbone: "test", geometry: geometry, latentShape: [2, 4, 4],
                                                 shape: GeneratorShape(groups: 2, width: 16, mlpWidth: 24))
        XCTAssertNil(uniform.boundaries)
        try uniform.save(to: saved)
        XCTAssertFalse(try String(contentsOf: saved, encoding: .utf8).contains("boundaries"))
        XCTAssertEqual(uniform.resolvedBoundaries, [0, 0.5, 1])
    }

    func testMalformedBoundariesAreRefusedNamingTheFlag() {
        let bad: [[Float]] = [[0, 0.5, 0.4, 1, 1, 1], [0, 0.5, 1], [0.1, 0.2, 0.4, 0.6, 0.8, 1], [0, 0.2, 0.4, 0.6, 0.8, 0.9],
                              [0, 0.2, 0.2, 0.6, 0.8, 1]]
        for b in bad {
            XCTAssertThrowsError(try GeneratorShape(file: nil, flags: .init(boundaries: b)), "\(b)") {
                XCTAssertTrue("\($0)".contains("boundaries (--group-boundaries) must be K + 1 = 6 increasing values from 0 to 1"), "\($0)")
            }
        }
        XCTAssertNoThrow(try GeneratorShape(file: nil, flags: .init(boundaries: [0, 0.3, 0.5, 0.7, 0.85, 1])))
        // The count follows K, whichever sets it.
        XCTAssertNoThrow(try GeneratorShape(file: nil, flags: .init(groups: 2, boundaries: [0, 0.3, 1])))
    }

    /// Training sends each sample to the group owning its t under the configured boundaries, and the
    /// sampler runs each group exactly on the steps inside its interval.
    func testTrainingAndSamplingFollowTheBoundaries() throws {
        var c = tinyConfiguration(groups: 2)
        c.boundaries = [0, 0.35, 1]
        let m = try LayerwiseTimestepExperts(c)
        randomizeParameters(m, seed: 4)
        let x1 = Tensor.randomNormal([4, 2, 4, 4], seed: 1), x0 = Tensor.randomNormal([4, 2, 4, 4], seed: 2)
        let prompts = (0..<4).map { randomPrompt(c, length: 3, seed: UInt64(10 + $0)) }
        // Uniform boundaries (0.5) would send all four to group 0.
        let result = FlowMatchingLoss(timesteps: .uniform).loss(m, data: x1, noise: x0, t: [0.1, 0.3, 0.4, 0.45], prompts: prompts)
        XCTAssertEqual(result.perGroup.map { $0?.count }, [2, 2])

        let sampler = FlowSampler(model: m, settings: SamplerSettings(steps: 10, guidance: 1, seed: 3))
        var groups: [Int] = []
        _ = try sampler.sample(prompt: randomPrompt(c, length: 3, seed: 2), nullPrompt: nil) { p in groups.append(p.group); return true }
        XCTAssertEqual(groups, [0, 0, 0, 0] + Array(repeating: 1, count: 6), "steps from t = 0 … 0.3 in group 0; from 0.4 on in group 1")
    }
}
