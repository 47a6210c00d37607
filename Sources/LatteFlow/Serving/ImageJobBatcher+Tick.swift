import LatteTensor

/// What one tick did (for tests, metrics and the benchmark).
public struct ImageJobTick: Sendable, Equatable {
    /// One network call: which network, which of its expert groups, how many rows, from how many jobs.
    public struct Call: Sendable, Equatable {
        public let guide: Bool
        public let group: Int
        public let rows: Int
        public let jobs: Int
    }
    public var calls: [Call] = []
    /// Jobs that completed a solver step, and jobs that finished, failed or were cancelled.
    public var stepsCompleted = 0
    public var jobsEnded = 0

    public var didWork: Bool { !calls.isEmpty || jobsEnded > 0 }
}

extension ImageJobBatcher {
    /// One round: hand-offs, one evaluation for every scheduled job, events. Returns false when there
    /// was nothing to do (no job queued, running or to cancel). Drive it from one thread only.
    @discardableResult
    public func tick() -> Bool { tickReport().didWork }

    /// `tick()`, reporting what it ran.
    public func tickReport() -> ImageJobTick {
        setTicking(true)
        defer { setTicking(false) }
        tickCount += 1
        var report = ImageJobTick()
        var events: [(@Sendable (ImageJobEvent) -> Void, ImageJobEvent)] = []
        var ended: [ImageJobID] = []

        let (admit, cancelledWaiting, cancelActive) = takeHandoffs()
        for job in cancelledWaiting { events.append((job.onEvent, .cancelled)) }
        active.removeAll { job in
            guard cancelActive.contains(job.id) else { return false }
            events.append((job.onEvent, .cancelled))
            ended.append(job.id)
            return true
        }
        for pending in admit {
            do {
                active.append(try start(pending))
                events.append((pending.onEvent, .started))
            } catch {
                events.append((pending.onEvent, .failed("\(error)")))
                ended.append(pending.id)
            }
        }
        report.jobsEnded += cancelledWaiting.count + ended.count

        let served = schedule()
        if !served.isEmpty {
            withoutGradient { evaluate(served, report: &report, events: &events, ended: &ended) }
        }
        for job in served { job.lastServed = tickCount }
        active.removeAll { $0.isDone }
        publish(ended: ended, report: report)
        for (handler, event) in events { handler(event) }
        return report
    }

    /// A waiting job made active: settings with the model's defaults, its time grid, prompt caches
    /// (each distinct prompt prefilled once by the pipeline's `PromptEncoder`) and starting noise.
    func start(_ pending: PendingImageJob) throws -> ActiveImageJob {
        try validate(pending.request)
        let r = pending.request
        let settings = pipeline.settings(steps: r.steps, guidance: r.guidance, solver: r.solver, guideWeight: r.guideWeight, seed: r.seed)
        let grid = try FlowSampler.timeGrid(settings: settings, configuration: pipeline.generator.configuration)
        let prompt = try pipeline.prompts.encode(try pipeline.tokens(for: r.prompt))
        let null = settings.guidance != 1 ? try pipeline.prompts.encode(pipeline.nullTokens) : nil
        let noise = Tensor.concat((0..<r.count).map { pipeline.noise(seed: r.seed &+ UInt64($0)) }, axis: 0)
        return ActiveImageJob(id: pending.id, request: r, onEvent: pending.onEvent, settings: settings, grid: grid, prompt: prompt,
                              nullPrompt: null, usesGuide: pipeline.guide != nil && settings.guideWeight != 1,
                              latent: noise, admittedAt: tickCount)
    }

    /// The jobs that run this tick: every active job whose owning group's call has room, the longest
    /// waiting first (ties: the earliest submitted). A job alone in its group always runs, chunked
    /// if it needs more than `maxRows` rows.
    ///
    /// With `patience` p > 0 only the group with the most rows waiting runs, plus any group holding a
    /// job that has waited p ticks: jobs behind catch up with jobs waiting ahead, so calls grow (a
    /// convoy), at the price of latency.
    func schedule() -> [ActiveImageJob] {
        let c = pipeline.generator.configuration
        let order = active.sorted(by: { ($0.lastServed, $0.id) < ($1.lastServed, $1.id) })
        var wanted: [Int: Int] = [:], waited: [Int: Int] = [:]
        for job in order {
            let g = c.group(owning: job.stageTime)
            wanted[g, default: 0] += job.mainRows
            waited[g] = max(waited[g] ?? 0, tickCount - 1 - job.lastServed)
        }
        let fullest = wanted.max { ($0.value, -$0.key) < ($1.value, -$1.key) }?.key
        let runs = Set(wanted.keys.filter { $0 == fullest || waited[$0]! >= patience })
        var rows: [Int: Int] = [:]
        var served: [ActiveImageJob] = []
        for job in order {
            let g = c.group(owning: job.stageTime), used = rows[g, default: 0]
            guard runs.contains(g) else { continue }
            guard used == 0 || used + job.mainRows <= maxRows else { continue }
            rows[g] = used + job.mainRows
            served.append(job)
        }
        return served.sorted { $0.id < $1.id }
    }

    /// Runs the calls for `jobs` and advances each by one evaluation.
    func evaluate(_ jobs: [ActiveImageJob], report: inout ImageJobTick, events: inout [(@Sendable (ImageJobEvent) -> Void, ImageJobEvent)],
                  ended: inout [ImageJobID]) {
        let model = pipeline.generator
        var cond: [ImageJobID: Tensor] = [:], uncond: [ImageJobID: Tensor] = [:], weak: [ImageJobID: Tensor] = [:]

        // The generator: per group, every job's conditional rows, then the guided jobs' null rows.
        let byGroup = Dictionary(grouping: jobs) { model.configuration.group(owning: $0.stageTime) }
        for g in byGroup.keys.sorted() {
            let members = byGroup[g]!
            var segments = members.map { RowSegment(job: $0, prompt: $0.prompt, kind: .conditional) }
            segments += members.filter(\.needsNullRows).map { RowSegment(job: $0, prompt: $0.nullPrompt!, kind: .unconditional) }
            for (segment, v) in run(segments, network: model, group: g, isGuide: false, report: &report) {
                if segment.kind == .conditional { cond[segment.job.id] = v } else { uncond[segment.job.id] = v }
            }
        }
        // The guide, when on: per guide group, the guided jobs' conditional rows.
        if let guide = pipeline.guide {
            let guided = Dictionary(grouping: jobs.filter(\.needsGuideRows)) { guide.configuration.group(owning: $0.stageTime) }
            for g in guided.keys.sorted() {
                let segments = guided[g]!.map { RowSegment(job: $0, prompt: $0.prompt, kind: .conditional) }
                for (segment, v) in run(segments, network: guide, group: g, isGuide: true, report: &report) { weak[segment.job.id] = v }
            }
        }

        for job in jobs {
            let v = job.velocity(conditional: cond[job.id]!, unconditional: uncond[job.id], guide: weak[job.id])
            guard let estimate = job.advance(with: v) else { continue }
            report.stepsCompleted += 1
            events.append((job.onEvent, .step(job.index, of: job.totalSteps, previews: job.request.previews ? preview.images(estimate) : [])))
            if job.isDone {
                events.append((job.onEvent, .finished(pipeline.decode(job.latent))))
                ended.append(job.id)
                report.jobsEnded += 1
            }
        }
    }

    /// One network's calls for `segments` (all owned by group g), chunked at segment boundaries to at
    /// most `maxRows` rows; returns each segment's velocity [count, C, H, W].
    func run(_ segments: [RowSegment], network: LayerwiseTimestepExperts, group g: Int, isGuide: Bool,
             report: inout ImageJobTick) -> [(RowSegment, Tensor)] {
        var chunks: [[RowSegment]] = [[]]
        var rows = 0
        for s in segments {
            if rows > 0 && rows + s.job.count > maxRows { chunks.append([]); rows = 0 }
            chunks[chunks.count - 1].append(s)
            rows += s.job.count
        }
        var out: [(RowSegment, Tensor)] = []
        for chunk in chunks where !chunk.isEmpty {
            // A job's prompt repeated once per image, as `PromptEncoder.encode(batch:)` stacks it.
            let prompt = PromptCache.stack(chunk.flatMap { Array(repeating: $0.prompt, count: $0.job.count) })
            let x = Tensor.concat(chunk.map(\.job.stageInput), axis: 0)
            let t = chunk.flatMap { Array(repeating: $0.job.stageTime, count: $0.job.count) }
            let v = network.velocity(x, t: t, prompt: network.prepare(prompt), layers: network.layerRange(group: g), head: g)
            var first = 0
            for s in chunk {
                out.append((s, v.sliced(axis: 0, first..<(first + s.job.count))))
                first += s.job.count
            }
            report.calls.append(.init(guide: isGuide, group: g, rows: x.dim(0), jobs: Set(chunk.map(\.job.id)).count))
        }
        return out
    }
}

/// A job's rows in one network call: its conditional rows, or its null-prompt rows.
struct RowSegment {
    enum Kind { case conditional, unconditional }
    let job: ActiveImageJob
    let prompt: PromptCache
    let kind: Kind
}
