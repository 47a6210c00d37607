import ArgumentParser
import Foundation
import LatteEval
import LatteFlow
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte eval`: FID and class accuracy of a class-conditional LatteFlow model, plus its sampling speed.
/// Generates `--per-class` images for each class (cycling through the class's phrases), crops them to
/// the data's 28×28, and measures them with the FID Inception network against the 10k Fashion-MNIST
/// test images and with the project's Fashion-MNIST classifier (docs/evaluation.md).
/// A model whose model.json names an `evaluation` (a captioned model) is measured against its data's
/// held-out split instead: FID, prompt adherence and memorisation (`EvalCommand+Captioned.swift`).
/// `latte eval`: `latte eval generation` (the default, so `latte eval --model …` is unchanged) and
/// `latte eval understanding` (the vision path). A group without options of its own, so each subcommand's
/// `--model` is its own.
struct EvalGroupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a model: its images (the default: FID, class accuracy, speed), its vision path (`understanding`) or its image prompts (`like`).",
        subcommands: [EvalCommand.self, EvalUnderstandingCommand.self, EvalLikeCommand.self], defaultSubcommand: EvalCommand.self)
}

struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generation", abstract: "FID, class accuracy and speed of a LatteFlow text-to-image model (the default of `latte eval`).")

    @Option(help: "A LatteFlow model folder.") var model = "models/latteflow-fashion"
    @Option(help: "The classifier folder (default: models/fashion-classifier; for a captioned model, the one its model.json names).")
    var classifier: String?
    @Option(help: "Generated images per class of a class-conditional model (the issue's protocol: 500 → 5,000 images).") var perClass = 500
    @Option(help: "Measure as a captioned model against this data source's held-out split (with --classifier), whatever model.json says.")
    var data: String?
    @Option(help: "With --data: the held-out set, when the data source has no split of its own.") var heldOut: String?
    @Option(help: "Captioned models: only the first N held-out captions (quick runs; the FID is then more biased).") var limit: Int?
    @Option(help: "Captioned models: the percentile of held-out images' nearest-training distances below which a generated image counts as a near-copy.")
    var memorisationPercentile = 5.0
    @OptionGroup var sampling: SamplingOptions
    @Option(help: "Seed of the first image; image i uses seed + i.") var seed: UInt64 = 1_000_000
    @Option(help: "Images sampled together.") var batch = 50
    @Option(help: "Also write every generated image as PNG into this folder.") var saveImages: String?
    @Flag(help: "Skip the FID (class accuracy and speed only).") var skipFid = false
    @Flag(help: "Skip the speed measurement.") var skipSpeed = false
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if perClass < 1 { throw ValidationError("--per-class must be at least 1") }
        if batch < 1 { throw ValidationError("--batch must be at least 1") }
        if let limit, limit < 2 { throw ValidationError("--limit must be at least 2 (FID needs two images)") }
        if !(0...100).contains(memorisationPercentile) { throw ValidationError("--memorisation-percentile must be in 0…100") }
        if data != nil && classifier == nil { throw ValidationError("--data needs --classifier DIR (the category classifier that labels generated images)") }
        if heldOut != nil && data == nil { throw ValidationError("--held-out needs --data") }
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let pipeline = try loadPipeline(model)
        try sampling.guide.apply(to: pipeline)
        if let evaluation = data.map({ TextToImageEvaluation(data: $0, heldOut: heldOut, classifier: classifier ?? "") }) ?? pipeline.manifest.evaluation {
            return try runCaptioned(pipeline: pipeline, evaluation: evaluation)
        }
        guard let phrases = pipeline.manifest.classPhrases, let names = pipeline.manifest.classNames else {
            let kind = pipeline.manifest.samplePrompts != nil ? "was trained on captions" : "records no classes"
            throw CommandFailure("""
                \(model) \(kind): `latte eval` measures class-conditional models — images per class, the class accuracy of \
                the Fashion-MNIST classifier and FID against the Fashion-MNIST test images — and none of these is defined \
                for a model without classes. Its sample sheet: `latte generate --model \(model) --sheet`.
                """)
        }
        let settings = try sampling.settings(for: pipeline, seed: seed)
        let classes = phrases.count

        // Class-major order; image i has seed + i, and phrase j of a class is used by its images j, j + P, …
        let jobs = (0..<classes).flatMap { c in (0..<perClass).map { i in (label: c, prompt: phrases[c][i % phrases[c].count]) } }
        let requests = jobs.enumerated().map { ImageRequest(prompt: $0.element.prompt, seed: seed &+ UInt64($0.offset)) }
        var progress = TrainingProgress(total: jobs.count, label: "generating")
        let start = Date()
        let images = try pipeline.generate(requests, settings: settings, batchSize: batch) { p in
            if p.step == p.stepsPerBatch { progress.update(step: p.imagesDone + p.batchImages, fields: []) }
            return true
        }
        let generationSeconds = Date().timeIntervalSince(start)
        let generated = ImageTensors.unitRange(images).contiguous()
        let labels = jobs.map(\.label)
        if let saveImages { try writeImages(images, labels: labels, names: names, to: URL(fileURLWithPath: saveImages)) }

        // Class accuracy with the project's classifier.
        let net = try FashionClassifier.load(directory: URL(fileURLWithPath: classifier ?? "models/fashion-classifier"))
        let predicted = try net.predict(generated)
        var correct = [Int](repeating: 0, count: classes)
        for (p, l) in zip(predicted, labels) where p == l { correct[l] += 1 }
        let accuracy = Double(correct.reduce(0, +)) / Double(labels.count)
        let perClassAccuracy = Dictionary(uniqueKeysWithValues: (0..<classes).map { (names[$0], Double(correct[$0]) / Double(perClass)) })

        var fid: FrechetDistance.Terms?
        if !skipFid {
            let inception = try InceptionFID.load(log: say)
            var fp = TrainingProgress(total: generated.dim(0), label: "FID features")
            let features = try inception.features(of: generated) { done, _ in fp.update(step: done, fields: []) }
            let reference = try FashionMNISTFID.testReference(network: inception, log: say)
            fid = try FrechetDistance.terms(try FIDStatistics(features: features), reference: reference)
        }

        let speed = skipSpeed ? [:] : try measureSpeed(pipeline, settings: settings) { phrases[$0 % classes][0] }

        if json {
            var object: [String: Any] = ["class_accuracy": accuracy, "images": labels.count, "per_class_accuracy": perClassAccuracy,
                                         "steps": settings.steps, "solver": settings.solver.rawValue, "guidance": settings.guidance, "shift": settings.shift,
                                         "guidance_interval": [settings.guidanceInterval.lowerBound, settings.guidanceInterval.upperBound],
                                         "generation_seconds": generationSeconds,
                                         // What was measured, so a saved result names its model and seed set (docs/ablations.md).
                                         "model": model, "seed": Int(truncatingIfNeeded: seed), "per_class": perClass, "batch": batch]
            // A scheduler configuration replaces the shift: say which one sampled.
            if let path = sampling.schedulerConfig { object["scheduler_config"] = path; object["mu"] = sampling.mu }
            // The mean term alone: how far the average image is off (brightness, layout), apart from variety.
            if let fid { object["fid"] = fid.fid; object["fid_mean_term"] = fid.meanTerm }
            if let guide = sampling.guide.source(model: model, pipeline: pipeline) { object["guide_model"] = guide; object["guide_weight"] = settings.guideWeight }
            for (k, v) in speed { object[k] = v }
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            if let fid { print(String(format: "FID %.2f over %d generated images against the 10k test images (|μ₁−μ₂|² %.2f)", fid.fid, labels.count, fid.meanTerm)) }
            print(String(format: "class accuracy %.1f %%", accuracy * 100))
            for c in 0..<classes { print(String(format: "  %-12@ %.1f %%", names[c] as NSString, perClassAccuracy[names[c]]! * 100)) }
            for (k, v) in speed.sorted(by: { $0.key < $1.key }) { print(String(format: "%@ %.3f", k as NSString, v)) }
            print(String(format: "(%d %@ steps, guidance %.1f at t %.2f…%.2f, shift %.1f; generation took %.0f s)", settings.steps,
                         settings.solver.rawValue as NSString, settings.guidance, settings.guidanceInterval.lowerBound,
                         settings.guidanceInterval.upperBound, settings.shift, generationSeconds))
            if let guide = sampling.guide.source(model: model, pipeline: pipeline), settings.guideWeight != 1 {
                print(String(format: "(autoguidance weight %.2f against %@)", settings.guideWeight, guide as NSString))
            }
        }
    }

    /// Seconds per image and images per second at batch 1 and 16, after a warm-up; prompt i of a batch is `prompt(i)`.
    func measureSpeed(_ pipeline: TextToImagePipeline, settings: SamplerSettings, prompt: (Int) -> String) throws -> [String: Double] {
        var speed: [String: Double] = [:]
        for n in [1, 16] {
            let prompts = (0..<n).map(prompt)
            _ = try pipeline.generate(prompts: prompts, settings: settings)   // warm-up
            let t = Date()
            _ = try pipeline.generate(prompts: prompts, settings: settings)
            let s = Date().timeIntervalSince(t)
            speed["seconds_per_image_batch_\(n)"] = s / Double(n)
            speed["images_per_second_batch_\(n)"] = Double(n) / s
        }
        return speed
    }

    /// Writes images [N, C, H, W] in [−1, 1] as PNGs named by index and class.
    func writeImages(_ images: Tensor, labels: [Int], names: [String], to folder: URL) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (i, image) in ImageTensors.images(images).enumerated() {
            let name = names[labels[i]].replacingOccurrences(of: "/", with: "-").replacingOccurrences(of: " ", with: "-")
            try PNG.write(image, to: folder.appendingPathComponent(String(format: "%05d-%@.png", i, name)).path)
        }
    }
}
