import Foundation
import XCTest
import LatteFlow
import LatteTensor

/// `FlowMatchSchedulerConfiguration` against diffusers' FlowMatchEulerDiscreteScheduler on
/// scheduler_config.json files as model folders carry them (fixture from scripts/make_scheduler_fixture.py).
final class FlowMatchSchedulerTests: XCTestCase {
    struct Fixture: Decodable {
        struct Case: Decodable {
            struct Schedule: Decodable { let steps: Int; let mu: Double?; let sigmas: [Float]; let timesteps: [Float] }
            let name: String
            /// Decoded by the type under test, from the very keys the reference was built from.
            let config: FlowMatchSchedulerConfiguration
            let schedules: [Schedule]
        }
        struct Mu: Decodable { let name: String; let image_seq_len: Int; let mu: Double }
        struct ScaleNoise: Decodable {
            let config: String; let steps: Int; let mu: Double; let index: Int; let sigma: Float
            let sample: [Float]; let noise: [Float]; let noisy: [Float]
        }
        let configurations: [Case]
        let mu: [Mu]
        let scale_noise: ScaleNoise

        func configuration(_ name: String) -> FlowMatchSchedulerConfiguration { configurations.first { $0.name == name }!.config }
    }

    func load() throws -> Fixture {
        let url = Bundle.module.url(forResource: "flow_match_configs", withExtension: "json", subdirectory: "Fixtures")!
        return try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: url))
    }

    func decode(_ json: String) throws -> FlowMatchSchedulerConfiguration {
        try JSONDecoder().decode(FlowMatchSchedulerConfiguration.self, from: Data(json.utf8))
    }

    // MARK: - Parity

    /// Sigma tables and timesteps within 1e-6 (timesteps, σ·N, within 1e-6·N: the same relative error).
    /// On the machine that made the fixture all 558 sigmas came out bit-identical; the tolerance leaves
    /// room for another libm's exp.
    func testSigmaTablesMatchDiffusers() throws {
        let fixture = try load()
        XCTAssertEqual(fixture.configurations.count, 9)
        var compared = 0
        for c in fixture.configurations {
            for s in c.schedules {
                let label = "\(c.name), \(s.steps) steps, mu \(s.mu.map { "\($0)" } ?? "–")"
                let sigmas = try c.config.sigmas(steps: s.steps, mu: s.mu)
                XCTAssertEqual(sigmas.count, s.sigmas.count, label)
                for (a, b) in zip(sigmas, s.sigmas) { XCTAssertEqual(a, b, accuracy: 1e-6, label) }
                let timesteps = try c.config.timesteps(steps: s.steps, mu: s.mu)
                XCTAssertEqual(timesteps.count, s.timesteps.count, label)
                let n = Float(c.config.trainTimesteps)
                for (a, b) in zip(timesteps, s.timesteps) { XCTAssertEqual(a, b, accuracy: 1e-6 * n, label) }
                compared += 1
            }
        }
        XCTAssertEqual(compared, 57)
    }

    func testMuFromSequenceLengthMatchesDiffusers() throws {
        let fixture = try load()
        XCTAssertFalse(fixture.mu.isEmpty)
        for m in fixture.mu {
            XCTAssertEqual(fixture.configuration(m.name).mu(imageSequenceLength: m.image_seq_len), m.mu, accuracy: 1e-12,
                           "\(m.name) at \(m.image_seq_len) tokens")
        }
    }

    func testScaleNoiseMatchesDiffusers() throws {
        let fixture = try load(), f = fixture.scale_noise
        let sigma = try fixture.configuration(f.config).sigmas(steps: f.steps, mu: f.mu)[f.index]
        XCTAssertEqual(sigma, f.sigma, accuracy: 1e-6)
        let noisy = try FlowMatchSchedulerConfiguration.scaleNoise(sample: Tensor(f.sample, shape: [1, 4, 2, 2]), sigma: f.sigma,
                                                                    noise: Tensor(f.noise, shape: [1, 4, 2, 2]))
        for (a, b) in zip(noisy.toArray(), f.noisy) { XCTAssertEqual(a, b, accuracy: 1e-6) }
        // The ends: σ = 1 is the noise, σ = 0 the sample.
        let x = Tensor([1, 2], shape: [2]), e = Tensor([-3, 5], shape: [2])
        XCTAssertEqual(try FlowMatchSchedulerConfiguration.scaleNoise(sample: x, sigma: 1, noise: e).toArray(), [-3, 5])
        XCTAssertEqual(try FlowMatchSchedulerConfiguration.scaleNoise(sample: x, sigma: 0, noise: e).toArray(), [1, 2])
        XCTAssertThrowsError(try FlowMatchSchedulerConfiguration.scaleNoise(sample: x, sigma: 0.5, noise: Tensor([1], shape: [1])))
    }

    /// `TimeGridKind.diffusers` is the default configuration with a static shift.
    func testDiffusersGridIsTheDefaultConfiguration() throws {
        for (steps, shift) in [(7, Float(3)), (1, 1), (40, 2.5)] {
            XCTAssertEqual(FlowSampler.sigmas(steps: steps, shift: shift, kind: .diffusers),
                           try FlowMatchSchedulerConfiguration(shift: Double(shift)).sigmas(steps: steps))
        }
    }

    // MARK: - Reading scheduler_config.json

    func testAbsentKeysTakeDiffusersDefaults() throws {
        let c = try decode("{}")
        XCTAssertEqual(c, FlowMatchSchedulerConfiguration())
        XCTAssertEqual(c.trainTimesteps, 1000); XCTAssertEqual(c.shift, 1); XCTAssertFalse(c.dynamicShifting)
        XCTAssertEqual(c.baseShift, 0.5); XCTAssertEqual(c.maxShift, 1.15)
        XCTAssertEqual(c.baseImageSequenceLength, 256); XCTAssertEqual(c.maxImageSequenceLength, 4096)
        XCTAssertNil(c.shiftTerminal); XCTAssertEqual(c.timeShift, .exponential)
        // Nulls (as diffusers writes unset options) and unknown keys are fine.
        XCTAssertEqual(try decode(#"{"shift_terminal": null, "base_shift": null, "_diffusers_version": "0.30.0", "future_key": 1}"#), c)
    }

    func testEncodingRoundTrips() throws {
        let c = FlowMatchSchedulerConfiguration(trainTimesteps: 500, shift: 2, dynamicShifting: true, baseShift: 0.25, maxShift: 0.75,
                                                baseImageSequenceLength: 1024, maxImageSequenceLength: 8192, shiftTerminal: 0.02,
                                                timeShift: .linear)
        let json = String(decoding: try JSONEncoder().encode(c), as: UTF8.self)
        for key in ["num_train_timesteps", "use_dynamic_shifting", "time_shift_type", "shift_terminal", "base_image_seq_len"] {
            XCTAssertTrue(json.contains("\"\(key)\""), json)
        }
        XCTAssertEqual(try decode(json), c)
    }

    func testUnsupportedValuesAreClearErrors() throws {
        let cases: [(String, [String])] = [
            (#"{"time_shift_type": "sigmoid"}"#, ["time_shift_type", "sigmoid", "exponential", "linear"]),
            (#"{"use_karras_sigmas": true}"#, ["use_karras_sigmas"]),
            (#"{"use_beta_sigmas": true}"#, ["use_beta_sigmas"]),
            (#"{"invert_sigmas": true}"#, ["invert_sigmas"]),
            (#"{"stochastic_sampling": true}"#, ["stochastic_sampling"]),
            (#"{"_class_name": "EulerDiscreteScheduler"}"#, ["EulerDiscreteScheduler", "FlowMatchEulerDiscreteScheduler"]),
            (#"{"shift_terminal": 1.5}"#, ["shift_terminal"]),
            (#"{"num_train_timesteps": 0}"#, ["num_train_timesteps"]),
        ]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scheduler-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("scheduler_config.json")
        for (json, words) in cases {
            try Data(json.utf8).write(to: file)
            XCTAssertThrowsError(try FlowMatchSchedulerConfiguration(contentsOf: file), json) { error in
                let message = "\(error)"
                XCTAssertTrue(message.contains(file.path), message)
                for word in words { XCTAssertTrue(message.contains(word), "\(json): \(message)") }
            }
        }
        XCTAssertThrowsError(try FlowMatchSchedulerConfiguration(contentsOf: folder.appendingPathComponent("absent.json"))) {
            XCTAssertTrue("\($0)".contains("absent.json"))
        }
    }

    /// A diffusers model folder: its scheduler/ subfolder is read.
    func testReadsAModelFolder() throws {
        let model = FileManager.default.temporaryDirectory.appendingPathComponent("model-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: model.appendingPathComponent("scheduler"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: model) }
        try Data(#"{"_class_name": "FlowMatchEulerDiscreteScheduler", "shift": 3.0, "use_dynamic_shifting": true}"#.utf8)
            .write(to: model.appendingPathComponent("scheduler/scheduler_config.json"))
        let c = try FlowMatchSchedulerConfiguration(contentsOf: model)
        XCTAssertEqual(c, FlowMatchSchedulerConfiguration(shift: 3, dynamicShifting: true))
        XCTAssertEqual(try FlowMatchSchedulerConfiguration(contentsOf: model.appendingPathComponent("scheduler")), c)
    }

    func testDynamicShiftingNeedsMuAndStepsAreChecked() throws {
        let dynamic = FlowMatchSchedulerConfiguration(dynamicShifting: true)
        XCTAssertThrowsError(try dynamic.sigmas(steps: 4)) { XCTAssertTrue("\($0)".contains("mu")) }
        XCTAssertThrowsError(try FlowMatchSchedulerConfiguration().sigmas(steps: 0))
        XCTAssertThrowsError(try FlowMatchSchedulerConfiguration(shiftTerminal: 0.1).sigmas(steps: 1))
        // Through the sampler's settings: an error, not an empty grid.
        XCTAssertThrowsError(try FlowSampler.timeGrid(settings: SamplerSettings(steps: 4, shift: 0, grid: .diffusers), configuration: tinyConfiguration()))
        XCTAssertThrowsError(try FlowSampler.timeGrid(settings: SamplerSettings(steps: 0), configuration: tinyConfiguration()))
        // mu is ignored without dynamic shifting, as in diffusers.
        XCTAssertEqual(try FlowMatchSchedulerConfiguration(shift: 3).sigmas(steps: 5, mu: 9),
                       try FlowMatchSchedulerConfiguration(shift: 3).sigmas(steps: 5))
    }

    // MARK: - Sampling with a scheduler configuration

    func testSamplerWalksTheSchedulersTable() throws {
        let c = tinyConfiguration(groups: 1)
        let flux = FlowMatchSchedulerConfiguration(shift: 3, dynamicShifting: true)
        let sigmas = try flux.sigmas(steps: 5, mu: 1.15)
        var expected = sigmas.map { 1 - $0 }
        expected[0] = 0; expected[5] = 1
        let settings = SamplerSettings(steps: 5, guidance: 1, scheduler: flux, mu: 1.15)
        XCTAssertEqual(try FlowSampler.timeGrid(settings: settings, configuration: c), expected)
        let m = try LayerwiseTimestepExperts(c)
        let walked = try FlowSampler(model: m, settings: settings).steps(prompt: randomPrompt(c, length: 2, seed: 1), nullPrompt: nil).grid
        XCTAssertEqual(walked, expected)
        // Without mu, the model's token count gives it (4 tokens here).
        var auto = settings
        auto.mu = nil
        XCTAssertEqual(try FlowSampler.sigmas(settings: auto, configuration: c), try flux.sigmas(steps: 5, mu: flux.mu(imageSequenceLength: c.tokenCount)))
        // Without a scheduler the grid is the one the settings' shift and kind give.
        let plain = SamplerSettings(steps: 7, shift: 2)
        XCTAssertEqual(try FlowSampler.timeGrid(settings: plain, configuration: c), FlowSampler.timeGrid(steps: 7, shift: 2, configuration: c))
        // Old settings JSON (no scheduler keys) still decodes.
        var json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(plain)) as! [String: Any]
        json["scheduler"] = nil; json["mu"] = nil
        XCTAssertEqual(try JSONDecoder().decode(SamplerSettings.self, from: JSONSerialization.data(withJSONObject: json)), plain)
        XCTAssertEqual(try JSONDecoder().decode(SamplerSettings.self, from: JSONEncoder().encode(settings)), settings)
    }
}
