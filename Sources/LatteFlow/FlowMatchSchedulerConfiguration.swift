import Foundation
import LatteTensor

/// diffusers' `FlowMatchEulerDiscreteScheduler` as a model folder's `scheduler/scheduler_config.json`
/// describes it: the keys are the file's, absent keys take diffusers' defaults, and `sigmas(steps:mu:)`
/// is `set_timesteps(steps, mu=mu)`'s sigma table, bit for bit where the reference's arithmetic allows
/// (checked against committed dumps: scripts/make_scheduler_fixture.py).
///
/// Convention: diffusers' σ is the NOISE level, from 1 (noise) to 0 (data), and x_σ = σ·noise + (1 − σ)·data.
/// LatteFlow's time runs the other way, t = 1 − σ (0 = noise, 1 = data), x_t = t·data + (1 − t)·noise:
/// the same point. `FlowSampler` converts a table with t = 1 − σ (`SamplerSettings.scheduler`).
///
/// Not supported, and refused when a file sets them: Karras, exponential or beta sigmas,
/// `invert_sigmas` (Mochi) and `stochastic_sampling` (they change the table or the step, not covered here).
public struct FlowMatchSchedulerConfiguration: Codable, Equatable, Sendable {
    /// How dynamic shifting bends the table (`time_shift_type`).
    public enum TimeShift: String, Codable, Sendable, CaseIterable {
        /// σ′ = e^μ / (e^μ + (1/σ − 1)) — FLUX, SD3 at high resolution, Qwen-Image.
        case exponential
        /// σ′ = μ / (μ + (1/σ − 1)) — CogView4.
        case linear
    }

    /// `num_train_timesteps`: the discrete training steps; the table runs from σ_max to σ_min = shift(1/N).
    public var trainTimesteps: Int
    /// `shift`: the static shift σ′ = s·σ / (1 + (s − 1)·σ), used when dynamic shifting is off.
    public var shift: Double
    /// `use_dynamic_shifting`: shift by μ (given at `sigmas(steps:mu:)`) instead of `shift`.
    public var dynamicShifting: Bool
    /// `base_shift`, `max_shift`, `base_image_seq_len`, `max_image_seq_len`: μ grows linearly with the
    /// image's token count from base to max (`mu(imageSequenceLength:)`, as the FLUX and SD3 pipelines).
    public var baseShift: Double
    public var maxShift: Double
    public var baseImageSequenceLength: Int
    public var maxImageSequenceLength: Int
    /// `shift_terminal`: the table is stretched so its last non-zero sigma is this (nil or 0 = off).
    public var shiftTerminal: Double?
    /// `time_shift_type`.
    public var timeShift: TimeShift

    /// The one scheduler class whose configuration this reads (`_class_name`).
    public static let className = "FlowMatchEulerDiscreteScheduler"

    enum CodingKeys: String, CodingKey {
        case className = "_class_name"
        case trainTimesteps = "num_train_timesteps", shift, dynamicShifting = "use_dynamic_shifting"
        case baseShift = "base_shift", maxShift = "max_shift"
        case baseImageSequenceLength = "base_image_seq_len", maxImageSequenceLength = "max_image_seq_len"
        case shiftTerminal = "shift_terminal", timeShift = "time_shift_type"
        // Accepted only when false (or absent).
        case invertSigmas = "invert_sigmas", karrasSigmas = "use_karras_sigmas"
        case exponentialSigmas = "use_exponential_sigmas", betaSigmas = "use_beta_sigmas"
        case stochasticSampling = "stochastic_sampling"
    }

    /// diffusers' defaults for every argument left out.
    public init(trainTimesteps: Int = 1000, shift: Double = 1, dynamicShifting: Bool = false,
                baseShift: Double = 0.5, maxShift: Double = 1.15,
                baseImageSequenceLength: Int = 256, maxImageSequenceLength: Int = 4096,
                shiftTerminal: Double? = nil, timeShift: TimeShift = .exponential) {
        self.trainTimesteps = trainTimesteps
        self.shift = shift
        self.dynamicShifting = dynamicShifting
        self.baseShift = baseShift
        self.maxShift = maxShift
        self.baseImageSequenceLength = baseImageSequenceLength
        self.maxImageSequenceLength = maxImageSequenceLength
        self.shiftTerminal = shiftTerminal
        self.timeShift = timeShift
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let name = try c.decodeIfPresent(String.self, forKey: .className), name != Self.className {
            throw DecodingError.dataCorruptedError(forKey: .className, in: c,
                debugDescription: "scheduler class \(name) is not supported: only \(Self.className) configurations are read")
        }
        let shiftType = try c.decodeIfPresent(String.self, forKey: .timeShift) ?? TimeShift.exponential.rawValue
        guard let timeShift = TimeShift(rawValue: shiftType) else {
            throw DecodingError.dataCorruptedError(forKey: .timeShift, in: c,
                debugDescription: "time_shift_type \"\(shiftType)\" is not supported: use \(TimeShift.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: " or "))")
        }
        for key in [CodingKeys.invertSigmas, .karrasSigmas, .exponentialSigmas, .betaSigmas, .stochasticSampling] {
            if try c.decodeIfPresent(Bool.self, forKey: key) == true {
                throw DecodingError.dataCorruptedError(forKey: key, in: c,
                    debugDescription: "\(key.rawValue) = true is not supported (only the plain flow-matching Euler table is)")
            }
        }
        // `decodeIfPresent` also maps an explicit null (as diffusers writes unset options) to the default.
        self.init(trainTimesteps: try c.decodeIfPresent(Int.self, forKey: .trainTimesteps) ?? 1000,
                  shift: try c.decodeIfPresent(Double.self, forKey: .shift) ?? 1,
                  dynamicShifting: try c.decodeIfPresent(Bool.self, forKey: .dynamicShifting) ?? false,
                  baseShift: try c.decodeIfPresent(Double.self, forKey: .baseShift) ?? 0.5,
                  maxShift: try c.decodeIfPresent(Double.self, forKey: .maxShift) ?? 1.15,
                  baseImageSequenceLength: try c.decodeIfPresent(Int.self, forKey: .baseImageSequenceLength) ?? 256,
                  maxImageSequenceLength: try c.decodeIfPresent(Int.self, forKey: .maxImageSequenceLength) ?? 4096,
                  shiftTerminal: try c.decodeIfPresent(Double.self, forKey: .shiftTerminal), timeShift: timeShift)
        do { try validate() } catch let error as GeneratorError {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.description))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Self.className, forKey: .className)
        try c.encode(trainTimesteps, forKey: .trainTimesteps)
        try c.encode(shift, forKey: .shift)
        try c.encode(dynamicShifting, forKey: .dynamicShifting)
        try c.encode(baseShift, forKey: .baseShift)
        try c.encode(maxShift, forKey: .maxShift)
        try c.encode(baseImageSequenceLength, forKey: .baseImageSequenceLength)
        try c.encode(maxImageSequenceLength, forKey: .maxImageSequenceLength)
        try c.encodeIfPresent(shiftTerminal, forKey: .shiftTerminal)
        try c.encode(timeShift, forKey: .timeShift)
    }

    /// Reads `scheduler_config.json`: the file itself, a scheduler folder, or a diffusers model folder
    /// (its `scheduler/` subfolder).
    public init(contentsOf url: URL) throws {
        var file = url
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isFolder), isFolder.boolValue {
            file = url.appendingPathComponent("scheduler_config.json")
            if !FileManager.default.fileExists(atPath: file.path) {
                file = url.appendingPathComponent("scheduler").appendingPathComponent("scheduler_config.json")
            }
        }
        let data: Data
        do { data = try Data(contentsOf: file) } catch {
            throw GeneratorError.invalidConfiguration("cannot read a scheduler configuration at \(file.path)")
        }
        do { self = try JSONDecoder().decode(Self.self, from: data) } catch DecodingError.dataCorrupted(let context) {
            throw GeneratorError.invalidConfiguration("\(file.path): \(context.debugDescription)")
        } catch {
            throw GeneratorError.invalidConfiguration("\(file.path): \(error)")
        }
    }

    /// Throws for values diffusers would not turn into a table.
    public func validate() throws {
        func fail(_ s: String) -> GeneratorError { .invalidConfiguration("scheduler: \(s)") }
        guard trainTimesteps >= 1 else { throw fail("num_train_timesteps \(trainTimesteps) must be at least 1") }
        guard shift > 0, shift.isFinite else { throw fail("shift \(shift) must be a positive number") }
        if let t = shiftTerminal, !(0..<1).contains(t) { throw fail("shift_terminal \(t) must lie in [0, 1)") }
        guard maxImageSequenceLength != baseImageSequenceLength else {
            throw fail("max_image_seq_len equals base_image_seq_len (\(baseImageSequenceLength)): mu is undefined")
        }
    }

    // MARK: - Tables

    /// μ for an image of `imageSequenceLength` tokens, as the FLUX and SD3 pipelines compute it
    /// (`calculate_shift`): linear from (base_image_seq_len, base_shift) through (max_image_seq_len, max_shift),
    /// extrapolated beyond. Other pipelines (CogView4) have their own rule: pass their μ to `sigmas`.
    public func mu(imageSequenceLength: Int) -> Double {
        let m = (maxShift - baseShift) / Double(maxImageSequenceLength - baseImageSequenceLength)
        let b = baseShift - m * Double(baseImageSequenceLength)
        return Double(imageSequenceLength) * m + b
    }

    /// `set_timesteps(steps, mu=mu)`'s sigmas: `steps` noise levels from σ_max = 1 down, then a final 0.
    /// `mu` is required with dynamic shifting and ignored without it, as in diffusers.
    public func sigmas(steps: Int, mu: Double? = nil) throws -> [Float] {
        try validate()
        guard steps >= 1 else { throw GeneratorError.invalidInput("scheduler: steps must be at least 1, got \(steps)") }
        if dynamicShifting && mu == nil {
            throw GeneratorError.invalidInput("scheduler: use_dynamic_shifting needs mu (e.g. mu(imageSequenceLength:))")
        }
        let terminal = shiftTerminal.flatMap { $0 == 0 ? nil : $0 }   // diffusers: `if shift_terminal:`
        if terminal != nil && steps == 1 {
            // The one sigma is 1, so stretching divides 0 by 0 (diffusers returns NaN).
            throw GeneratorError.invalidInput("scheduler: shift_terminal needs at least 2 steps")
        }
        // __init__: the training table in float32, statically shifted unless shifting is dynamic; only its
        // ends are used.
        let n = Float(trainTimesteps)
        func trainingSigma(_ timestep: Float) -> Float {
            let sigma = timestep / n
            if dynamicShifting { return sigma }
            return Float(shift) * sigma / (1 + Float(shift - 1) * sigma)
        }
        let sigmaMax = Double(trainingSigma(n)), sigmaMin = Double(trainingSigma(1))
        // set_timesteps: numpy float64 from here on: linspace(σ_max·N, σ_min·N, steps) / N.
        let start = sigmaMax * Double(trainTimesteps), stop = sigmaMin * Double(trainTimesteps)
        let step = steps > 1 ? (stop - start) / Double(steps - 1) : 0
        var table: [Double] = (0..<steps).map { i in
            (i == steps - 1 && steps > 1 ? stop : Double(i) * step + start) / Double(trainTimesteps)
        }
        if let mu, dynamicShifting {
            // time_shift(mu, 1.0, σ); the exponent 1.0 of (1/σ − 1) is left out.
            switch timeShift {
            case .exponential: table = table.map { Foundation.exp(mu) / (Foundation.exp(mu) + (1 / $0 - 1)) }
            case .linear: table = table.map { mu / (mu + (1 / $0 - 1)) }
            }
        } else {
            table = table.map { shift * $0 / (1 + (shift - 1) * $0) }
        }
        if let terminal {
            // stretch_shift_to_terminal: 1 − σ scaled so the last sigma becomes `terminal`.
            let scale = (1 - table[steps - 1]) / (1 - terminal)
            table = table.map { 1 - (1 - $0) / scale }
        }
        return table.map { Float($0) } + [0]
    }

    /// `set_timesteps`'s timesteps: σ·N in float32 for each sigma but the final 0 (what a diffusers
    /// transformer is given as its time input).
    public func timesteps(steps: Int, mu: Double? = nil) throws -> [Float] {
        try sigmas(steps: steps, mu: mu).dropLast().map { $0 * Float(trainTimesteps) }
    }

    // MARK: - Image to image

    /// `scale_noise`: `sample` noised to level σ, σ·noise + (1 − σ)·sample — the flow-matching forward
    /// process (LatteFlow's x_t at t = 1 − σ). For image to image, noise the encoded image to the sigma of
    /// the step sampling starts from.
    public static func scaleNoise(sample: Tensor, sigma: Float, noise: Tensor) throws -> Tensor {
        guard sample.shape == noise.shape else {
            throw GeneratorError.invalidInput("scale_noise: sample \(sample.shape) and noise \(noise.shape) differ in shape")
        }
        guard (0...1).contains(sigma) else { throw GeneratorError.invalidInput("scale_noise: sigma \(sigma) is not in 0…1") }
        return noise * sigma + sample * (1 - sigma)
    }
}
