import ArgumentParser
import Foundation
import LatteFlow
import LatteFormats
import LatteKernels
import LatteTensor

/// `latte generate`: images for a prompt, or with `--sheet` one row per class of the model's classes.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate images from a text prompt with a LatteFlow model.")

    @Option(help: "A LatteFlow model folder (model.json).") var model = "models/latteflow-fashion"
    @Option(help: "The prompt (e.g. \"a photo of a sneaker\").") var prompt: String?
    @Flag(help: "A sample sheet instead: one row per class (the model's class phrases), --count seeds each.") var sheet = false
    @Option(help: "Images per prompt (a grid).") var count = 8
    @Option(help: "Sampling steps (default: the model's).") var steps: Int?
    @Option(name: .customLong("cfg"), help: "Classifier-free guidance weight (1 = off; default: the model's).") var guidance: Float?
    @Option(help: "Time shift (>1 spends more steps at high noise; default: the model's).") var shift: Float?
    @Option(help: "ODE solver: euler (one network call per step) or heun (two per step but the last; second order). Default: the model's.")
    var solver: FlowSolver?
    @Option(help: "Apply guidance only at times FROM…TO (t: 0 = noise, 1 = data), e.g. 0.2,0.9; elsewhere one conditional pass. Default: the model's (everywhere if unset).")
    var guidanceInterval: GuidanceIntervalArgument?
    @OptionGroup var guideOptions: GuideOptions
    @Option(help: "Seed of the first image's noise; image i of a prompt uses seed + i.") var seed: UInt64 = 0
    @Option(help: "Upscale factor of the written picture.") var scale = 3
    @Option(help: "Images sampled together (larger is faster per image, up to memory).") var batch = 40
    @Option(help: "Output PNG.") var output = "samples.png"
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Expert groups allowed to run, comma-separated (e.g. 2): a time owned by another group goes to the nearest listed one. For studying the experts.")
    var groups: ExpertGroupList?
    @Flag(help: "Run every layer at every step (the vanilla model's cost) instead of the owning group only; for comparing time per image.")
    var vanilla = false

    /// The routing the switches ask for.
    func routing() throws -> ExpertRouting {
        if vanilla && groups != nil { throw ValidationError("--vanilla and --groups are exclusive") }
        if vanilla { return .allLayers }
        guard let groups else { return .owning }
        return .only(groups.groups)
    }

    func validate() throws {
        if prompt == nil && !sheet { throw ValidationError("give --prompt TEXT or --sheet") }
        if count < 1 || count > 256 { throw ValidationError("--count must be between 1 and 256") }
        if let steps, steps < 1 { throw ValidationError("--steps must be at least 1") }
        if scale < 1 || scale > 16 { throw ValidationError("--scale must be between 1 and 16") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        _ = try routing()
    }

    /// A fresh machine has no backbone yet: fetch the pinned asset the model names (hash-checked) rather
    /// than fail, saying so.
    static func fetchBackboneIfMissing(modelFolder: URL) throws {
        guard let manifest = try? TextToImageManifest.load(from: modelFolder.appendingPathComponent("model.json")),
              let asset = AssetCatalog.asset(named: manifest.backbone), !AssetCache().isPresent(asset) else { return }
        FileHandle.standardError.write(Data("the backbone '\(asset.name)' is not in the asset cache yet: fetching it once (\(AssetFetcher.sizeText(asset.totalSize)))\n".utf8))
        try AssetFetcher(log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }).fetch(asset)
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        try Self.fetchBackboneIfMissing(modelFolder: URL(fileURLWithPath: model))
        let start = Date()
        let pipeline: TextToImagePipeline
        do { pipeline = try TextToImagePipeline.load(directory: URL(fileURLWithPath: model)) } catch {
            throw CommandFailure("cannot load the model at \(model): \(error)\n(the default model lives in models/latteflow-fashion of the repository — see models/README.md for its state; run from the repository root or pass --model DIR)")
        }
        try guideOptions.apply(to: pipeline)
        let loaded = Date().timeIntervalSince(start)
        let prompts: [String]
        if sheet {
            guard let phrases = pipeline.manifest.classPhrases else { throw ValidationError("\(model) has no class phrases; use --prompt") }
            prompts = phrases.map { $0[0] }
        } else {
            prompts = [prompt!]
        }
        // Prefill once per prompt up front, so errors about a prompt come before any sampling.
        for p in prompts { _ = try pipeline.prompts.encode(try pipeline.tokens(for: p)) }

        let settings = pipeline.settings(steps: steps, guidance: guidance, shift: shift, solver: solver,
                                         guidanceInterval: guidanceInterval?.range, guideWeight: guideOptions.guideWeight, seed: seed)
        let routing = try routing()
        try routing.validate(groups: pipeline.generator.configuration.groups)
        if routing == .allLayers {
            FileHandle.standardError.write(Data("--vanilla: every layer runs at every step; this model was trained as \(pipeline.generator.configuration.groups) timestep experts, so compare the time per image, not the pictures\n".utf8))
        }
        // Every image of the sheet in batches of up to `batch` rows; image j of a prompt starts from
        // the noise of seed + j, whatever batch it lands in.
        let jobs = prompts.flatMap { p in (0..<count).map { (prompt: p, seed: seed &+ UInt64($0)) } }
        let total = jobs.count
        var progress = TrainingProgress(total: (total + batch - 1) / batch * settings.steps, label: "generate")
        let sampling = Date()
        var images: [Image] = []
        for (bi, start) in stride(from: 0, to: total, by: batch).enumerated() {
            let part = jobs[start..<min(start + batch, total)]
            let latents = try pipeline.sampleLatents(prompts: part.map(\.prompt), settings: settings, seeds: part.map(\.seed), routing: routing) { step in
                progress.update(step: bi * settings.steps + step.step, fields: [("images", "\(start + part.count)/\(total)")])
                return true
            }
            images += ImageTensors.images(pipeline.decode(latents), scale: scale)
        }
        let seconds = Date().timeIntervalSince(sampling)
        let guided = settings.guideWeight != 1 && pipeline.guide != nil ? ", autoguidance \(settings.guideWeight)" : ""
        try ImageGrid.write(images, columns: count, to: output)
        print("wrote \(output): \(prompts.count) prompt(s) × \(count) images, \(settings.steps) \(settings.solver.rawValue) steps, guidance \(settings.guidance)\(guided) — \(String(format: "%.2f", seconds / Double(total))) s per image (model loaded in \(String(format: "%.1f", loaded)) s)")
    }
}

/// A failure that is not a usage mistake: printed as "Error: …" without the usage text.
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
