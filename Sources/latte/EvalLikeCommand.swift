import ArgumentParser
import Foundation
import LatteEval
import LatteFlow
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte eval like`: whether image prompts work. Held-out Fashion-MNIST test images are the prompts
/// (`--images`, from the start of the test split); each draws `--per-image` images with `--like`'s
/// settings, and the project's Fashion-MNIST classifier judges whether a generated image keeps the prompt
/// image's class. Beside it, the same model draws the same number of images from text — the prompt
/// image's class phrases in turn, the same seeds — judged alike, and the classifier's accuracy on the
/// prompt images themselves (how far the judge can be trusted on real images). docs/vision.md.
struct EvalLikeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "like", abstract: "How often images drawn from an image prompt (`generate --like`) keep its class, beside text prompts, by the classifier.")

    @Option(help: "A model folder trained for image prompts (`latte train-like`).") var model = defaultModelFolder
    @Option(help: "Prompt images: the first N Fashion-MNIST test images.") var images = 500
    @Option(help: "Images drawn per prompt image (and per text prompt).") var perImage = 1
    @Option(help: "The Fashion-MNIST classifier folder.") var classifier = "models/fashion-classifier"
    @Option(help: "Seed of the first image; image j of prompt i uses seed + i × per-image + j (text and image prompts alike).") var seed: UInt64 = 1_000_000
    @Option(help: "Prompt images generated from together (their images and the text images in one batch each).") var batch = 25
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object (with every prompt image's verdicts).") var json = false

    func validate() throws {
        if images < 1 || images > 10_000 { throw ValidationError("--images must be 1…10000") }
        if perImage < 1 || batch < 1 { throw ValidationError("--per-image and --batch must be at least 1") }
    }

    struct Judged: Codable {
        /// Generated images the classifier puts in the prompt's class, of `count`.
        var accuracy: Double
        var count: Int
        var perClass: [String: Double]
    }

    struct Example: Codable {
        var testIndex: Int
        var label: String
        /// What the classifier makes of the prompt image itself.
        var promptPredicted: String
        var seed: UInt64
        var likePredicted: String
        var likeKeptClass: Bool
        var textPrompt: String
        var textPredicted: String
        var textRight: Bool
    }

    struct Report: Codable {
        var model: String
        var promptImages: Int
        var perImage: Int
        var instruction: String
        var like: Judged
        var text: Judged
        var promptImageClassifierAccuracy: Double
        var likeSettings: SamplerSettings
        var textSettings: SamplerSettings
        var seconds: Double
        var examples: [Example]
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let started = Date()
        let folder = URL(fileURLWithPath: model)
        let record = try ImagePromptModel.check(folder: folder, option: "eval like")
        let net = try FashionClassifier.load(directory: URL(fileURLWithPath: classifier))
        let (pipeline, backbone) = try loadModelFolder(model) { try TextToImagePipeline.loadWithBackbone(directory: $0, assets: .fetchIfMissing(log: say)) }
        try pipeline.applyImagePromptAdapter(from: folder)   // image and text prompts both from the image-prompt model
        pipeline.packForInference()
        guard let phrases = pipeline.manifest.classPhrases, let names = pipeline.manifest.classNames, names == IDXDataset.fashionMNISTClasses else {
            throw CommandFailure("eval like: \(model) is not a Fashion-MNIST class-conditional model (model.json names no Fashion-MNIST classes)")
        }
        let like = try ImagePromptModel.load(folder: folder, record: record, backbone: backbone)
        let likeSettings = try like.settings(sampling, pipeline: pipeline, seed: seed)
        try sampling.guide.apply(to: pipeline)
        let textSettings = try sampling.settings(for: pipeline, seed: seed)

        let test = try VisionData.fashion(split: .test, count: images)
        let tokens = try VisionFeatureCache(encoder: like.chat.encoder, grid: like.chat.configuration.grid).tokens(of: test.images, log: say)
        let promptPredicted = try net.predict(test.images)
        var examples: [Example] = []
        var bar = TrainingProgress(total: test.labels.count, label: "eval like")
        for first in stride(from: 0, to: test.labels.count, by: batch) {
            let rows = first..<min(first + batch, test.labels.count)
            let prompts = like.encoder.caches(tokens: tokens.sliced(axis: 0, rows))
            var caches: [PromptCache] = [], requests: [ImageRequest] = [], owners: [Int] = []
            for (r, i) in rows.enumerated() {
                let row = prompts.selecting(rows: [r])
                for j in 0..<perImage {
                    let n = i * perImage + j, s = seed &+ UInt64(n)
                    caches.append(row)
                    owners.append(i)
                    let choices = phrases[test.labels[i]]
                    requests.append(ImageRequest(prompt: choices[n % choices.count], seed: s))
                }
            }
            let likeImages = try pipeline.generate(promptCaches: caches, seeds: requests.map(\.seed), settings: likeSettings, batchSize: caches.count)
            let textImages = try pipeline.generate(requests, settings: textSettings, batchSize: requests.count)
            let likePredicted = try net.predict(ImageTensors.unitRange(likeImages).contiguous())
            let textPredicted = try net.predict(ImageTensors.unitRange(textImages).contiguous())
            for (k, i) in owners.enumerated() {
                let label = test.labels[i]
                examples.append(Example(testIndex: i, label: names[label], promptPredicted: names[promptPredicted[i]], seed: requests[k].seed,
                                        likePredicted: names[likePredicted[k]], likeKeptClass: likePredicted[k] == label,
                                        textPrompt: requests[k].prompt, textPredicted: names[textPredicted[k]], textRight: textPredicted[k] == label))
            }
            bar.update(step: rows.upperBound, fields: [])
        }
        func judged(_ right: (Example) -> Bool) -> Judged {
            var perClass: [String: Double] = [:]
            for name in names {
                let of = examples.filter { $0.label == name }
                if !of.isEmpty { perClass[name] = Double(of.filter(right).count) / Double(of.count) }
            }
            return Judged(accuracy: Double(examples.filter(right).count) / Double(examples.count), count: examples.count, perClass: perClass)
        }
        let promptAccuracy = Double(zip(promptPredicted, test.labels).filter { $0 == $1 }.count) / Double(test.labels.count)
        let report = Report(model: model, promptImages: test.labels.count, perImage: perImage, instruction: record.instruction,
                            like: judged(\.likeKeptClass), text: judged(\.textRight), promptImageClassifierAccuracy: promptAccuracy,
                            likeSettings: likeSettings, textSettings: textSettings, seconds: Date().timeIntervalSince(started), examples: examples)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("\(model): \(report.like.count) images from \(report.promptImages) held-out test images as prompts (\(perImage) each), judged by \(classifier)")
        print(String(format: "  image prompts keep the class: %.1f %%   text prompts (same classes, same seeds): %.1f %%   the classifier on the prompt images themselves: %.1f %%",
                     report.like.accuracy * 100, report.text.accuracy * 100, promptAccuracy * 100))
        print("  class          image prompt   text prompt")
        for name in names where report.like.perClass[name] != nil {
            print("  " + name.padding(toLength: 14, withPad: " ", startingAt: 0)
                  + String(format: " %9.1f %%   %9.1f %%", report.like.perClass[name]! * 100, (report.text.perClass[name] ?? 0) * 100))
        }
        print(String(format: "(image prompts: %d %@ steps, guidance %.2f, no autoguidance; text: guidance %.2f, autoguidance %.2f; %.0f s)", likeSettings.steps,
                     likeSettings.solver.rawValue as NSString, likeSettings.guidance, textSettings.guidance, textSettings.guideWeight, report.seconds))
    }
}
