import ArgumentParser
import Foundation
import LatteFlow

extension FlowSolver: ExpressibleByArgument {}

/// `--guidance-interval FROM,TO`: the times (t: 0 = noise, 1 = data) where guidance applies.
struct GuidanceIntervalArgument: ExpressibleByArgument {
    let range: ClosedRange<Float>

    init?(argument: String) {
        let parts = argument.split(separator: ",").map { Float($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, let from = parts[0], let to = parts[1], from >= 0, from <= to, to <= 1 else { return nil }
        range = from...to
    }

    static var defaultValueDescription: String { "FROM,TO with 0 ≤ FROM ≤ TO ≤ 1" }
}

/// A comma-separated list of expert groups: `--groups 2` (generate), `--train-groups 3,4` (train).
struct ExpertGroupList: ExpressibleByArgument {
    let groups: [Int]

    init?(argument: String) {
        let ids = argument.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !ids.isEmpty, ids.allSatisfy({ $0 != nil }) else { return nil }
        groups = ids.map { $0! }
    }

    static var defaultValueDescription: String { "group numbers separated by commas" }
}

/// The sampler flags of `generate` and `eval`; each one left out takes the model's default (model.json).
struct SamplingOptions: ParsableArguments {
    @Option(help: "Sampling steps (default: the model's).") var steps: Int?
    @Option(name: .customLong("cfg"), help: "Classifier-free guidance weight (1 = off; default: the model's).") var guidance: Float?
    @Option(help: "Time shift (>1 spends more steps at high noise; default: the model's).") var shift: Float?
    @Option(help: "ODE solver: euler (one network call per step) or heun (two per step but the last; second order). Default: the model's.")
    var solver: FlowSolver?
    @Option(help: "Apply guidance only at times FROM…TO (t: 0 = noise, 1 = data), e.g. 0.2,0.9; elsewhere one conditional pass. Default: the model's (everywhere if unset).")
    var guidanceInterval: GuidanceIntervalArgument?
    @OptionGroup var guide: GuideOptions
    @Option(help: "A diffusers FlowMatchEulerDiscreteScheduler configuration (scheduler_config.json, its folder, or a diffusers model folder): sample on its sigma table (t = 1 − σ) instead of --shift's grid.")
    var schedulerConfig: String?
    @Option(help: "mu for a --scheduler-config with use_dynamic_shifting (default: from the model's image token count, as the FLUX pipeline computes it).")
    var mu: Double?

    func validate() throws {
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if schedulerConfig != nil && shift != nil { throw ValidationError("--shift and --scheduler-config exclude each other (the configuration carries its own shift)") }
        if mu != nil && schedulerConfig == nil { throw ValidationError("--mu needs --scheduler-config") }
    }

    /// The sampler settings for `pipeline`: these flags over the model's defaults, starting at `seed`.
    func settings(for pipeline: TextToImagePipeline, seed: UInt64) throws -> SamplerSettings {
        var settings = pipeline.settings(steps: steps, guidance: guidance, shift: shift, solver: solver,
                                         guidanceInterval: guidanceInterval?.range, guideWeight: guide.guideWeight, seed: seed)
        if let schedulerConfig {
            do { settings.scheduler = try FlowMatchSchedulerConfiguration(contentsOf: URL(fileURLWithPath: schedulerConfig)) } catch {
                throw CommandFailure("cannot use the scheduler configuration \(schedulerConfig): \(error)")
            }
            settings.mu = mu
        }
        return settings
    }
}

/// `--guide-model DIR --guide-weight W`: autoguidance options shared by `generate` and `eval`.
struct GuideOptions: ParsableArguments {
    @Option(help: "Autoguidance: a weaker model folder whose conditional velocity sampling extrapolates away from (replaces the model's own guide, if any).")
    var guideModel: String?
    @Option(help: "Autoguidance weight (1 = off). Default: the model's own guide's weight (model.json); required with --guide-model.")
    var guideWeight: Float?

    func validate() throws {
        if guideModel != nil && guideWeight == nil { throw ValidationError("--guide-model needs --guide-weight W (W > 1 guides; 1 = off)") }
        if let guideWeight, !guideWeight.isFinite || guideWeight < 0 { throw ValidationError("--guide-weight must be a finite number ≥ 0") }
    }

    /// Loads `--guide-model` into the pipeline, if given.
    func apply(to pipeline: TextToImagePipeline) throws {
        guard let guideModel else { return }
        do { try pipeline.loadGuide(directory: URL(fileURLWithPath: guideModel)) } catch {
            throw CommandFailure("cannot load the guide model at \(guideModel): \(error)")
        }
    }

    /// What guides sampling, for reports: the `--guide-model` folder, the model's own guide file, or nil.
    func source(model: String, pipeline: TextToImagePipeline) -> String? {
        guard pipeline.guide != nil else { return nil }
        if let guideModel { return guideModel }
        return pipeline.manifest.guideWeights.map { "\(model)/\($0)" }
    }
}
