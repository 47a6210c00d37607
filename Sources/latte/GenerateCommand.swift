import ArgumentParser
import Foundation
import LatteFlow
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte generate`: images for a prompt, or with `--sheet` one row per class of the model's classes (or,
/// for a model trained on captions, per sample prompt).
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate", abstract: "Generate images from a text prompt with a LatteFlow model.")

    @Option(help: "A LatteFlow model folder (model.json).") var model = defaultModelFolder
    @Option(help: "The prompt (e.g. \"a photo of a sneaker\").") var prompt: String?
    @Flag(help: "A sample sheet instead: one row per class (the model's class phrases) or, for a model trained on captions, per sample prompt (model.json); --count seeds each.") var sheet = false
    @Option(help: "Images per prompt (a grid).") var count = 8
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Seed of the first image's noise; image i of a prompt uses seed + i.") var seed: UInt64 = 0
    @Option(help: "Upscale factor of the written picture.") var scale = 3
    @Option(help: "Images sampled together (larger is faster per image, up to memory).") var batch = 40
    @Option(help: "Output PNG.") var output = "samples.png"
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Option(help: "Expert groups allowed to run, comma-separated (e.g. 2): a time owned by another group goes to the nearest listed one. For studying the experts.")
    var groups: ExpertGroupList?
    @Flag(help: "Run every layer at every step (the vanilla model's cost) instead of the owning group only; for comparing time per image.")
    var vanilla = false
    @Flag(help: "Then ask the model's vision path (vision.json in the model folder; the same loaded backbone) about each generated image and print the answers.")
    var describe = false
    @Option(help: "With --describe: the question asked about each image.") var question = "What is this?"
    @Option(name: .customLong("like"), help: ArgumentHelp("Draw images like this one instead of from text (PNG or JPEG; repeat for more rows): the image tokens go into the prompt the generator reads. Needs a model trained for it (`latte train-like`).", valueName: "image"))
    var like: [String] = []

    /// The routing the switches ask for.
    func routing() throws -> ExpertRouting {
        if vanilla && groups != nil { throw ValidationError("--vanilla and --groups are exclusive") }
        if vanilla { return .allLayers }
        guard let groups else { return .owning }
        return .only(groups.groups)
    }

    func validate() throws {
        if [prompt != nil, sheet, !like.isEmpty].filter({ $0 }).count != 1 { throw ValidationError("give one of --prompt TEXT, --sheet or --like IMAGE") }
        if count < 1 || count > 256 { throw ValidationError("--count must be between 1 and 256") }
        if scale < 1 || scale > 16 { throw ValidationError("--scale must be between 1 and 16") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        _ = try routing()
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let start = Date()
        if describe && !VisionModelConfiguration.present(in: URL(fileURLWithPath: model)) {
            throw CommandFailure("--describe: \(model) has no vision weights (\(VisionModelConfiguration.fileName) + vision.safetensors); train them with `latte train-vision --output \(model)`, or leave out --describe")
        }
        let likeRecord = like.isEmpty ? nil : try ImagePromptModel.check(folder: URL(fileURLWithPath: model), option: "--like", images: like)
        // With --describe and --like the vision path reads with the generator's own prompt backbone: one loaded model.
        let (pipeline, backbone) = try loadModelFolder(model) { try TextToImagePipeline.loadWithBackbone(directory: $0, assets: .fetchIfMissing(log: say)) }
        // --like with a folder whose fine-tune is an adapter: the generator becomes the image-prompt model first.
        if likeRecord != nil { try pipeline.applyImagePromptAdapter(from: URL(fileURLWithPath: model)) }
        pipeline.packForInference()   // sampling only: the generator's weights packed for the GEMM once
        if let likeRecord { return try generateLike(pipeline: pipeline, backbone: backbone, record: likeRecord, started: start) }
        try sampling.guide.apply(to: pipeline)
        let loaded = Date().timeIntervalSince(start)
        let prompts: [String]
        if sheet {
            guard let sheet = pipeline.manifest.sheetPrompts else {
                throw CommandFailure("\(model) records neither class phrases nor sample prompts for a sheet; use --prompt")
            }
            prompts = sheet
        } else {
            prompts = [prompt!]
        }
        let settings = try sampling.settings(for: pipeline, seed: seed)
        let routing = try routing()
        if routing == .allLayers {
            say("--vanilla: every layer runs at every step; this model was trained as \(pipeline.generator.configuration.groups) timestep experts, so compare the time per image, not the pictures")
        }
        let requests = ImageRequest.grid(prompts: prompts, count: count, seed: seed)
        var bar = TrainingProgress(total: try pipeline.samplingSteps(images: requests.count, settings: settings, batchSize: batch), label: "generate")
        let started = Date()
        let images = try pipeline.generate(requests, settings: settings, batchSize: batch, routing: routing) { p in
            bar.update(step: p.completedSteps, fields: [("images", "\(p.imagesDone + p.batchImages)/\(p.imageCount)")])
            return true
        }
        let seconds = Date().timeIntervalSince(started)
        let guided = settings.guideWeight != 1 && pipeline.guide != nil ? ", autoguidance \(settings.guideWeight)" : ""
        try ImageGrid.write(ImageTensors.images(images, scale: scale), columns: count, to: output)
        print("wrote \(output): \(prompts.count) prompt(s) × \(count) images, \(settings.steps) \(settings.solver.rawValue) steps, guidance \(settings.guidance)\(guided) — \(String(format: "%.2f", seconds / Double(requests.count))) s per image (model loaded in \(String(format: "%.1f", loaded)) s)")
        if describe { try self.describe(images, prompts: requests.map(\.prompt), seeds: requests.map(\.seed), backbone: backbone) }
    }

    /// `--like`: one row of `count` images per prompt image (image j of a row from seed + j), guided
    /// against the null prompt as text prompts are (autoguidance off: `ImagePromptModel.settings`).
    func generateLike(pipeline: TextToImagePipeline, backbone: Backbone, record: ImagePromptRecord, started: Date) throws {
        let like = try ImagePromptModel.load(folder: URL(fileURLWithPath: model), record: record, backbone: backbone)
        let rows = try like.caches(ofFiles: self.like)
        let settings = try like.settings(sampling, pipeline: pipeline, seed: seed)
        let loaded = Date().timeIntervalSince(started)
        let caches = rows.flatMap { [PromptCache](repeating: $0, count: count) }
        let seeds = rows.indices.flatMap { _ in (0..<count).map { seed &+ UInt64($0) } }
        var bar = TrainingProgress(total: try pipeline.samplingSteps(images: caches.count, settings: settings, batchSize: batch), label: "generate")
        let t = Date()
        let images = try pipeline.generate(promptCaches: caches, seeds: seeds, settings: settings, batchSize: batch, routing: try routing()) { p in
            bar.update(step: p.completedSteps, fields: [("images", "\(p.imagesDone + p.batchImages)/\(p.imageCount)")])
            return true
        }
        let seconds = Date().timeIntervalSince(t)
        try ImageGrid.write(ImageTensors.images(images, scale: scale), columns: count, to: output)
        print("wrote \(output): \(rows.count) image prompt(s) × \(count) images (one row each: \(self.like.joined(separator: ", "))), \(settings.steps) \(settings.solver.rawValue) steps, guidance \(settings.guidance) — \(String(format: "%.2f", seconds / Double(caches.count))) s per image (model loaded in \(String(format: "%.1f", loaded)) s)")
        if describe {
            let names = self.like.flatMap { path in [String](repeating: "like " + (path as NSString).lastPathComponent, count: count) }
            try self.describe(images, prompts: names, seeds: seeds, backbone: backbone)
        }
    }

    /// Asks the vision path `question` about each generated image ([N, C, H, W] in [−1, 1]) and prints
    /// the answers beside the output file and the image's place in it.
    func describe(_ images: Tensor, prompts: [String], seeds: [UInt64], backbone: Backbone) throws {
        let chat = try VisionChat.load(folder: URL(fileURLWithPath: model), backbone: backbone)
        for (i, image) in ImageTensors.images(images).enumerated() {
            let x = VisionImage.tensor(of: image, size: chat.configuration.inputSize)
            let tokens = chat.encoder.features(x).adaptiveAveragePoolTokens(grid: chat.configuration.grid)
            let answer = try chat.answerer.answer(question, tokens: tokens)
            print("\(output) #\(i + 1) (row \(i / count + 1), column \(i % count + 1); \"\(prompts[i])\", seed \(seeds[i])): \(answer)")
        }
    }
}
