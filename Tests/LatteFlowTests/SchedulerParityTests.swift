import XCTest
import LatteFlow
import LatteTensor

/// Sigma tables and one Euler step against diffusers' FlowMatchEulerDiscreteScheduler
/// (fixture from scripts/make_scheduler_fixture.py).
final class SchedulerParityTests: XCTestCase {
    struct Fixture: Decodable {
        struct Table: Decodable { let steps: Int; let shift: Float; let sigmas: [Float] }
        struct Step: Decodable { let steps: Int; let shift: Float; let index: Int; let sample: [Float]; let model_output: [Float]; let prev_sample: [Float] }
        let tables: [Table]
        let step: Step
    }

    func load() throws -> Fixture {
        let url = Bundle.module.url(forResource: "flow_match_euler", withExtension: "json", subdirectory: "Fixtures")!
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func testSigmaTablesMatchDiffusers() throws {
        for table in try load().tables {
            let ours = FlowSampler.sigmas(steps: table.steps, shift: table.shift, kind: .diffusers)
            XCTAssertEqual(ours.count, table.sigmas.count, "steps \(table.steps)")
            for (a, b) in zip(ours, table.sigmas) {
                XCTAssertEqual(a, b, accuracy: 1e-6, "steps \(table.steps) shift \(table.shift)")
            }
        }
    }

    func testOneEulerStepMatchesDiffusers() throws {
        let f = try load().step
        let sigmas = FlowSampler.sigmas(steps: f.steps, shift: f.shift, kind: .diffusers)
        // Our time runs the other way (t = 1 − σ) and our velocity is −(diffusers' output).
        let t0 = 1 - sigmas[f.index], t1 = 1 - sigmas[f.index + 1]
        let x = Tensor(f.sample, shape: [1, 4, 2, 2]), v = Tensor(f.model_output, shape: [1, 4, 2, 2]).negated()
        let next = (x + v * (t1 - t0)).toArray()
        for (a, b) in zip(next, f.prev_sample) { XCTAssertEqual(a, b, accuracy: 1e-5) }
    }

    func testUniformGridIsTheDefault() {
        XCTAssertEqual(FlowSampler.sigmas(steps: 4, shift: 1), [1, 0.75, 0.5, 0.25, 0])
    }
}
