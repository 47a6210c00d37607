import LatteTensor

/// ODE solvers for dx/dt = v(x, t) from noise (t = 0) to data (t = 1).
public enum FlowSolver: String, Codable, Sendable {
    case euler
    /// Heun's second-order method (Euler on the last step, where t reaches 1).
    case heun
}

/// Where the sampling times sit.
public enum TimeGridKind: String, Codable, Sendable {
    /// σ_i = shift(1 − i/N) for i = 0…N: uniform before the shift, ends exactly at data.
    case uniform
    /// diffusers' `FlowMatchEulerDiscreteScheduler` with a static shift and 1000 training steps:
    /// σ_i = shift(linspace(1, shift(1/1000), N)), then a final 0. Note its quirk: the shift is applied
    /// twice to the smallest sigma (shift 3, 7 steps ends at 0.008929, not 0.002994). For parity only;
    /// any other scheduler_config.json: `SamplerSettings.scheduler`.
    case diffusers
}

public struct SamplerSettings: Codable, Equatable, Sendable {
    public var steps: Int
    public var solver: FlowSolver
    /// Classifier-free guidance w: v = v_u + w·(v_c − v_u); 1 turns guidance off.
    public var guidance: Float
    /// Time shift as SD3 / diffusers: σ′ = s·σ / (1 + (s − 1)·σ) with σ = 1 − t; s > 1 spends more
    /// steps at high noise. 1 = a uniform grid.
    public var shift: Float
    public var seed: UInt64
    public var grid: TimeGridKind
    /// The times t (0 = noise, 1 = data) at which guidance applies; elsewhere the conditional velocity
    /// alone is used (one network batch instead of two). Guidance at high noise pulls every sample of a
    /// class towards the same few modes, which costs diversity (Kynkäänniemi et al. 2024, "Applying
    /// guidance in a limited interval"); near the data it changes little. `0...1` = everywhere. On the
    /// default model it changed no FID measurably (its card), but it saves the guided batch where off.
    public var guidanceInterval: ClosedRange<Float>
    /// Autoguidance weight w_g (used when the sampler has a guide model): v += (w_g − 1)·(v_cond − v_guide);
    /// 1 turns it off. With guidance 1 this is v_guide + w_g·(v_cond − v_guide).
    public var guideWeight: Float
    /// A diffusers scheduler configuration (a model folder's scheduler_config.json): when set, its
    /// `set_timesteps(steps, mu)` sigma table, taken as t = 1 − σ, replaces `shift` and `grid`.
    public var scheduler: FlowMatchSchedulerConfiguration?
    /// μ for a scheduler with dynamic shifting; nil = `scheduler.mu(imageSequenceLength:)` of the
    /// model's image token count (the FLUX / SD3 pipelines' rule). Ignored without dynamic shifting.
    public var mu: Double?

    public init(steps: Int = 40, solver: FlowSolver = .euler, guidance: Float = 3, shift: Float = 1, seed: UInt64 = 0,
                grid: TimeGridKind = .uniform, guidanceInterval: ClosedRange<Float> = 0...1, guideWeight: Float = 1,
                scheduler: FlowMatchSchedulerConfiguration? = nil, mu: Double? = nil) {
        self.scheduler = scheduler
        self.mu = mu
        self.grid = grid
        self.guideWeight = guideWeight
        self.guidanceInterval = guidanceInterval
        self.steps = steps
        self.solver = solver
        self.guidance = guidance
        self.shift = shift
        self.seed = seed
    }
}

/// Which layers a sampling step runs — for studying the experts; models are trained for `.owning`.
public enum ExpertRouting: Equatable, Sendable {
    /// The group owning the step's time (LaTtE-Flow: L/K layers per step).
    case owning
    /// Every layer at every step, with the owning group's head: the vanilla model's cost per step.
    /// An expert-trained model was not trained for this, so its images show what the unrouted stack
    /// does; the comparison is of time per image.
    case allLayers
    /// Only these groups: a time owned by another group goes to the nearest listed one (e.g. `[2]`
    /// shows what expert 2 makes of every time).
    case only([Int])

    /// The layers and head that run at time t.
    func plan(t: Float, model: LayerwiseTimestepExperts) -> (layers: Range<Int>, head: Int) {
        let c = model.configuration, k = c.group(owning: t)
        switch self {
        case .owning: return (model.layerRange(group: k), k)
        case .allLayers: return (0..<c.layerCount, k)
        case .only(let groups):
            let nearest = groups.min { abs($0 - k) < abs($1 - k) || (abs($0 - k) == abs($1 - k) && $0 < $1) } ?? k
            return (model.layerRange(group: nearest), nearest)
        }
    }

    /// Checks the listed groups exist.
    public func validate(groups: Int) throws {
        if case .only(let list) = self {
            guard !list.isEmpty else { throw GeneratorError.invalidInput("no expert group listed") }
            for k in list where k < 0 || k >= groups {
                throw GeneratorError.invalidInput("expert group \(k) does not exist: the model has groups 0…\(groups - 1)")
            }
        }
    }
}

/// One completed sampling step.
public struct SamplingProgress {
    public let step: Int
    public let totalSteps: Int
    /// The time the step started from and the group that ran.
    public let time: Float
    public let group: Int
    /// The current latent (a preview can be decoded from it).
    public let latent: Tensor
}

/// Samples latents with the layerwise timestep experts: at each step only the group owning the
/// step's time runs (docs/method.md §3). Deterministic for a given seed. Iterate `steps(…)` for progress,
/// previews or cancellation, or call `sample(…)`.
public struct FlowSampler {
    public let model: LayerwiseTimestepExperts
    public let settings: SamplerSettings
    public let routing: ExpertRouting
    /// Autoguidance (Karras et al. 2024, "Guiding a diffusion model with a bad version of itself"): a
    /// weaker model whose conditional velocity the sampler extrapolates away from with
    /// `settings.guideWeight`, on top of classifier-free guidance. It must read the same backbone
    /// (the same prompt caches) and make latents of the same shape.
    public let guide: LayerwiseTimestepExperts?

    public init(model: LayerwiseTimestepExperts, settings: SamplerSettings, routing: ExpertRouting = .owning,
                guide: LayerwiseTimestepExperts? = nil) {
        self.model = model
        self.settings = settings
        self.routing = routing
        self.guide = guide
    }

    /// σ′ = s·σ / (1 + (s − 1)·σ)
    static func shifted(_ sigma: Double, _ shift: Double) -> Double { shift * sigma / (1 + (shift - 1) * sigma) }

    /// The sigmas (σ = 1 − t) of a grid, from 1 down to 0, before group boundaries are added.
    public static func sigmas(steps: Int, shift: Float, kind: TimeGridKind = .uniform) -> [Float] {
        let s = Double(shift)
        switch kind {
        case .uniform:
            return (0...steps).map { i in Float(shifted(1 - Double(i) / Double(steps), s)) }
        case .diffusers:
            // The scheduler's default configuration with this shift; empty for steps < 1 or shift ≤ 0
            // (`sigmas(settings:configuration:)` says why instead).
            return (try? FlowMatchSchedulerConfiguration(shift: s).sigmas(steps: steps)) ?? []
        }
    }

    /// The sigmas of `settings`: its scheduler's table when it has one (μ from the settings or from the
    /// model's token count), else `sigmas(steps:shift:kind:)`.
    public static func sigmas(settings: SamplerSettings, configuration c: GeneratorConfiguration) throws -> [Float] {
        guard settings.steps >= 1 else { throw GeneratorError.invalidInput("steps must be at least 1, got \(settings.steps)") }
        guard let scheduler = settings.scheduler else {
            if settings.grid == .diffusers {
                // The same table `sigmas(steps:shift:kind:)` gives, but with the reason when there is none.
                return try FlowMatchSchedulerConfiguration(shift: Double(settings.shift)).sigmas(steps: settings.steps)
            }
            return sigmas(steps: settings.steps, shift: settings.shift, kind: settings.grid)
        }
        let mu = scheduler.dynamicShifting ? settings.mu ?? scheduler.mu(imageSequenceLength: c.tokenCount) : nil
        return try scheduler.sigmas(steps: settings.steps, mu: mu)
    }

    /// The time grid that sampling with `settings` walks (see `timeGrid(sigmas:configuration:)`).
    public static func timeGrid(settings: SamplerSettings, configuration c: GeneratorConfiguration) throws -> [Float] {
        timeGrid(sigmas: try sigmas(settings: settings, configuration: c), configuration: c)
    }

    /// t_0 = 0 < … < t_N = 1 on the chosen grid, with group boundaries inserted where a group would
    /// otherwise get no step (every expert runs at least once).
    public static func timeGrid(steps: Int, shift: Float, kind: TimeGridKind = .uniform, configuration c: GeneratorConfiguration) -> [Float] {
        timeGrid(sigmas: sigmas(steps: steps, shift: shift, kind: kind), configuration: c)
    }

    /// t = 1 − σ for a sigma table from 1 down to 0 (the ends pinned to exactly 0 and 1), with group
    /// boundaries inserted where a group would otherwise get no step.
    public static func timeGrid(sigmas: [Float], configuration c: GeneratorConfiguration) -> [Float] {
        var grid = sigmas.map { 1 - $0 }
        grid[0] = 0; grid[grid.count - 1] = 1
        let b = c.resolvedBoundaries
        for k in 0..<c.groups where !grid.dropLast().contains(where: { c.group(owning: $0) == k }) {
            grid.append(b[k])
        }
        return Array(Set(grid)).sorted()
    }

    /// The step iterator: latents for `prompt` (one row per image), guided against `nullPrompt`
    /// (one row, or one per image) when guidance ≠ 1.
    /// `noise` [n, C, H, W] replaces the seeded starting noise (e.g. one seed per image).
    public func steps(prompt: PromptCache, nullPrompt: PromptCache?, noise: Tensor? = nil) throws -> Steps {
        guard settings.steps >= 1 else { throw GeneratorError.invalidInput("steps must be at least 1, got \(settings.steps)") }
        let gi = settings.guidanceInterval
        guard gi.lowerBound >= 0, gi.upperBound <= 1 else {
            throw GeneratorError.invalidInput("guidance interval \(gi.lowerBound)…\(gi.upperBound) is not inside 0…1 (t: 0 = noise, 1 = data)")
        }
        try routing.validate(groups: model.configuration.groups)
        let guided = settings.guidance != 1
        if let guide { try model.configuration.checkGuide(guide.configuration) }
        if guided && nullPrompt == nil { throw GeneratorError.invalidInput("guidance \(settings.guidance) needs a null prompt") }
        let n = prompt.batch
        var batchPrompt = prompt
        if guided, let null = nullPrompt {
            guard null.batch == 1 || null.batch == n else { throw GeneratorError.invalidInput("null prompt batch \(null.batch) for \(n) images") }
            let nulls = null.batch == 1 ? PromptCache.stack(Array(repeating: null, count: n)) : null
            batchPrompt = PromptCache.stack([prompt, nulls])
        }
        let c = model.configuration
        let shape = [n, c.latentChannels, c.latentHeight, c.latentWidth]
        if let noise, noise.shape != shape { throw GeneratorError.invalidInput("starting noise \(noise.shape) for latents \(shape)") }
        var g = RandomGenerator(seed: settings.seed)
        let x = noise ?? Tensor.normal(shape, generator: &g)
        // Rotary tables and masks are built here, once for the run, not at every network call.
        let prepared = Prompts(batched: model.prepare(batchPrompt), conditional: guided ? model.prepare(prompt) : nil,
                               guide: settings.guideWeight != 1 ? guide?.prepare(prompt) : nil)
        return Steps(sampler: self, grid: try Self.timeGrid(settings: settings, configuration: c),
                     prompts: prepared, guided: guided, latent: x)
    }

    /// Runs every step and returns the final latents [n, C, H, W]. `progress` may return false to stop.
    public func sample(prompt: PromptCache, nullPrompt: PromptCache?, noise: Tensor? = nil,
                       progress: ((SamplingProgress) -> Bool)? = nil) throws -> Tensor {
        var it = try steps(prompt: prompt, nullPrompt: nullPrompt, noise: noise)
        var last = it.latent
        while let p = it.next() {
            last = p.latent
            if let progress, !progress(p) { break }
        }
        return last
    }

    /// The prompts of one sampling run, prepared for the networks that read them.
    struct Prompts {
        /// The conditional rows, then (when guided) the null rows.
        let batched: PreparedPrompt
        /// The conditional rows alone, when `batched` also holds null rows.
        let conditionalOnly: PreparedPrompt?
        /// The conditional rows prepared for the guide network (autoguidance on).
        let guide: PreparedPrompt?

        init(batched: PreparedPrompt, conditional: PreparedPrompt?, guide: PreparedPrompt?) {
            (self.batched, conditionalOnly, self.guide) = (batched, conditional, guide)
        }

        var conditional: PreparedPrompt { conditionalOnly ?? batched }
    }

    /// Guided velocity for the current latents at time t.
    func velocity(_ x: Tensor, t: Float, prompts: Prompts, guided: Bool) -> Tensor {
        let (layers, head) = routing.plan(t: t, model: model)
        let n = x.dim(0)
        return withoutGradient {
            let ts = Array(repeating: t, count: n), inside = settings.guidanceInterval.contains(t)
            let cond: Tensor
            var v: Tensor
            if guided && inside {
                // Conditional and unconditional rows in one batch of 2n.
                let both = model.velocity(Tensor.concat([x, x], axis: 0), t: ts + ts, prompt: prompts.batched, layers: layers, head: head)
                cond = both.sliced(axis: 0, 0..<n)
                let uncond = both.sliced(axis: 0, n..<(2 * n))
                v = uncond + (cond - uncond) * settings.guidance
            } else {
                cond = model.velocity(x, t: ts, prompt: prompts.conditional, layers: layers, head: head)
                v = cond
            }
            if let guide, let guidePrompt = prompts.guide, inside {
                // The guide runs its own owning expert, or every layer when timing the vanilla cost
                // (`--groups` studies the main model's experts; the guide's groups need not match).
                let (guideLayers, guideHead) = (routing == .allLayers ? ExpertRouting.allLayers : .owning).plan(t: t, model: guide)
                let weak = guide.velocity(x, t: ts, prompt: guidePrompt, layers: guideLayers, head: guideHead)
                v = v + (cond - weak) * (settings.guideWeight - 1)
            }
            return v
        }
    }

    public struct Steps: IteratorProtocol, Sequence {
        let sampler: FlowSampler
        public let grid: [Float]
        let prompts: Prompts
        let guided: Bool
        public private(set) var latent: Tensor
        private var index = 0

        init(sampler: FlowSampler, grid: [Float], prompts: Prompts, guided: Bool, latent: Tensor) {
            self.sampler = sampler
            self.grid = grid
            self.prompts = prompts
            self.guided = guided
            self.latent = latent
        }

        public var totalSteps: Int { grid.count - 1 }

        public mutating func next() -> SamplingProgress? {
            guard index < grid.count - 1 else { return nil }
            let (t0, t1) = (grid[index], grid[index + 1])
            let dt = t1 - t0
            let v0 = sampler.velocity(latent, t: t0, prompts: prompts, guided: guided)
            if sampler.settings.solver == .heun && index + 1 < grid.count - 1 {
                let predicted = latent + v0 * dt
                let v1 = sampler.velocity(predicted, t: t1, prompts: prompts, guided: guided)
                latent = latent + (v0 + v1) * (dt / 2)
            } else {
                latent = latent + v0 * dt
            }
            index += 1
            return SamplingProgress(step: index, totalSteps: grid.count - 1, time: t0,
                                    group: sampler.routing.plan(t: t0, model: sampler.model).head, latent: latent)
        }
    }
}

extension GeneratorConfiguration {
    /// Throws unless a generator of configuration `guide` can guide this one: it must read the same
    /// prompt caches (the same backbone: K/V geometry, and the same depth when neither names its paired
    /// layers) and make latents of the same shape. Width, MLP width, group count and which backbone
    /// layers it pairs with may differ — the guide is usually smaller.
    public func checkGuide(_ guide: GeneratorConfiguration) throws {
        let sameDepth = backboneLayers != nil || guide.backboneLayers != nil || layerCount == guide.layerCount
        guard sameDepth, kvHeads == guide.kvHeads, headDim == guide.headDim else {
            throw GeneratorError.invalidInput("the guide reads \(guide.layerCount) backbone layers of \(guide.kvHeads)×\(guide.headDim) keys, the model \(layerCount) of \(kvHeads)×\(headDim)")
        }
        guard latentChannels == guide.latentChannels, latentHeight == guide.latentHeight, latentWidth == guide.latentWidth else {
            throw GeneratorError.invalidInput("the guide makes \(guide.latentChannels)×\(guide.latentHeight)×\(guide.latentWidth) latents, the model \(latentChannels)×\(latentHeight)×\(latentWidth)")
        }
    }
}
