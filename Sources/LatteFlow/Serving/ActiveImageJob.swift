import LatteTensor

/// A job the batcher is sampling: the state machine of its rows. All rows of a job share its time grid,
/// so they are always at the same step and stage and run in the same expert group; the job is the unit
/// of scheduling. Touched only by the thread that runs the batcher.
final class ActiveImageJob {
    let id: ImageJobID
    let request: ImageJobRequest
    let onEvent: @Sendable (ImageJobEvent) -> Void
    let settings: SamplerSettings
    let grid: [Float]
    /// One-row caches: the prompt, and the null prompt when guided (guidance ≠ 1).
    let prompt: PromptCache
    let nullPrompt: PromptCache?
    /// Whether the guide network adds autoguidance (the pipeline has a guide and guideWeight ≠ 1).
    let usesGuide: Bool
    /// [count, C, H, W]: x at grid[index].
    var latent: Tensor
    var index = 0
    /// Heun's second stage pending: the first stage's velocity and the Euler prediction at grid[index + 1].
    var heunStage: (velocity: Tensor, predicted: Tensor)?
    /// The tick this job last ran in (round-robin: the longest-waiting job is served first).
    var lastServed: Int

    init(id: ImageJobID, request: ImageJobRequest, onEvent: @escaping @Sendable (ImageJobEvent) -> Void, settings: SamplerSettings,
         grid: [Float], prompt: PromptCache, nullPrompt: PromptCache?, usesGuide: Bool, latent: Tensor, admittedAt tick: Int) {
        (self.id, self.request, self.onEvent, self.settings, self.grid) = (id, request, onEvent, settings, grid)
        (self.prompt, self.nullPrompt, self.usesGuide, self.latent) = (prompt, nullPrompt, usesGuide, latent)
        lastServed = tick - 1
    }

    var count: Int { request.count }
    var totalSteps: Int { grid.count - 1 }
    var isDone: Bool { index >= grid.count - 1 }

    /// The time and input of the evaluation this job needs next (Heun's second stage evaluates the
    /// prediction at the step's end time, possibly in another expert group).
    var stageTime: Float { heunStage == nil ? grid[index] : grid[index + 1] }
    var stageInput: Tensor { heunStage?.predicted ?? latent }

    /// Whether the evaluation at `stageTime` is guided: as `FlowSampler.velocity`, guidance and the
    /// guide apply only inside the guidance interval.
    var insideInterval: Bool { settings.guidanceInterval.contains(stageTime) }
    var needsNullRows: Bool { nullPrompt != nil && insideInterval }
    var needsGuideRows: Bool { usesGuide && insideInterval }
    /// Rows this evaluation puts in the main network's call.
    var mainRows: Int { count * (needsNullRows ? 2 : 1) }

    /// The combined velocity from this evaluation's network outputs, with exactly `FlowSampler.velocity`'s
    /// arithmetic (so the result is the same to the bit when the network outputs are).
    func velocity(conditional cond: Tensor, unconditional uncond: Tensor?, guide weak: Tensor?) -> Tensor {
        var v: Tensor
        if let uncond { v = uncond + (cond - uncond) * settings.guidance } else { v = cond }
        if let weak { v = v + (cond - weak) * (settings.guideWeight - 1) }
        return v
    }

    /// Advances the state machine by one evaluation's velocity, with `FlowSampler.Steps.next`'s
    /// arithmetic. Returns the clean-image estimate x̂1 = x_t0 + (1 − t0)·v0 when a step completed
    /// (the preview's input), nil when only Heun's first stage ran.
    func advance(with v: Tensor) -> Tensor? {
        let (t0, t1) = (grid[index], grid[index + 1])
        let dt = t1 - t0
        if let stage = heunStage {
            let estimate = latent + stage.velocity * (1 - t0)
            latent = latent + (stage.velocity + v) * (dt / 2)
            heunStage = nil
            index += 1
            return estimate
        }
        if settings.solver == .heun && index + 1 < grid.count - 1 {
            heunStage = (v, latent + v * dt)
            return nil
        }
        let estimate = latent + v * (1 - t0)
        latent = latent + v * dt
        index += 1
        return estimate
    }
}
