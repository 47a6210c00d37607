import ArgumentParser
import Foundation
import LatteBenchmarks
import LatteEval
import LatteFlow
import LatteFormats
import LatteKernels
import LatteModels
import LatteNN
import LatteTensor

/// `latte eval understanding`: the vision path's held-out accuracy per task (Fashion-MNIST test images,
/// held-out digits, held-out emoji; `VisionData.heldOut`), judged by the matching rules it prints
/// (`VisionEvaluation.matchingRules`), next to each task's majority-answer baseline; then its speed at
/// batch 1 — the time from an image's pixels to the first answer token and decoding tokens/s — and the
/// process's peak resident memory (docs/vision.md).
struct EvalUnderstandingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "understanding", abstract: "Held-out accuracy per task, speed and memory of a model folder's vision path (vision.json + vision.safetensors).")

    @Option(help: "A model folder with vision weights (vision.json + vision.safetensors).") var model = "models/latteflow-fashion"
    @Option(help: "Held-out images per set (Fashion-MNIST test, held-out digits, held-out emoji; each has its own cap).") var images = 500
    @Option(help: "The sets to ask about, comma-separated (fashion, digits, emoji).") var sets = "fashion,digits,emoji"
    @Option(help: "Only these tasks, comma-separated (e.g. fashion.what: the 10k-image accuracy target asks only that; default: every task of the chosen sets).")
    var tasks: String?
    @Option(help: "Seed of the question phrasings.") var seed: UInt64 = 1
    @Option(help: "Tokens decoded for the tokens/s measurement (past the end marker).") var speedTokens = 32
    @Flag(help: "Skip the speed measurement.") var skipSpeed = false
    @Option(help: "Threads (default: all cores).") var threads: Int?
    @Flag(help: "Print one JSON object (with every question, answer and verdict).") var json = false
    @Option(help: "Self-consistency: also generate N images per class with the folder's generator (its class phrases) and ask \"What is this?\" about each; reported next to the fashion classifier's accuracy on the same images.")
    var generated = 0
    @Option(help: "With --generated: the Fashion-MNIST classifier folder.") var classifier = "models/fashion-classifier"
    @Option(help: "With --generated: seed of the first generated image (image i: seed + i; `latte eval`'s default).") var generatedSeed: UInt64 = 1_000_000
    @OptionGroup var sampling: SamplingOptions

    static let knownSets = Set(VisionQuestions.tasksBySet.keys)

    var chosenSets: Set<String> { Set(sets.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
    /// `--tasks` as a set, or nil for every task of the chosen sets.
    var chosenTasks: Set<String>? { tasks.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) } }
    /// The sets to read: the chosen ones that ask at least one chosen task.
    var setsToRead: Set<String> {
        guard let chosen = chosenTasks else { return chosenSets }
        return chosenSets.filter { !(VisionQuestions.tasksBySet[$0] ?? []).isDisjoint(with: chosen) }
    }

    func validate() throws {
        if images < 1 { throw ValidationError("--images must be at least 1") }
        let unknown = chosenSets.subtracting(Self.knownSets)
        if !unknown.isEmpty || chosenSets.isEmpty { throw ValidationError("--sets takes fashion, digits and/or emoji, got '\(sets)'") }
        if speedTokens < 2 { throw ValidationError("--speed-tokens must be at least 2") }
        if generated < 0 { throw ValidationError("--generated must be 0 or more") }
        if let chosen = chosenTasks {
            let asked = chosenSets.reduce(into: Set<String>()) { $0.formUnion(VisionQuestions.tasksBySet[$1] ?? []) }
            let unknown = chosen.subtracting(asked)
            if !unknown.isEmpty || chosen.isEmpty {
                throw ValidationError("--tasks: \(unknown.sorted().joined(separator: ", ")) not asked by the sets \(chosenSets.sorted().joined(separator: ",")) (their tasks: \(asked.sorted().joined(separator: ", ")))")
            }
        }
    }

    struct Speed: Codable {
        var threads: Int
        /// Image pixels → encoder tokens, one image.
        var encodeSeconds: Double
        /// Encoder tokens → the first answer token (projector, prompt prefill, first greedy step).
        var prefillToFirstTokenSeconds: Double
        /// Pixels to the first token: the two above.
        var timeToFirstTokenSeconds: Double
        var tokensPerSecond: Double
        var decodedTokens: Int
        var repeats: Int
    }

    /// How often the vision path names the prompted class of the folder's own generated images, and how
    /// often the Fashion-MNIST classifier does, on the same images.
    struct SelfConsistency: Codable {
        var images: Int
        var perClass: Int
        var visionNamesPromptedClass: Double
        var classifierAccuracy: Double
        /// Both judges right, or both wrong.
        var judgesAgree: Double
        var perClassVision: [String: Double]
        var perClassClassifier: [String: Double]
    }

    struct Report: Codable {
        var model: String
        var imagesPerSet: Int
        var tasks: [String: VisionEvaluation.Score]
        var matchingRule: String
        var fashionSynonyms: [[String]]
        var speed: Speed?
        var selfConsistency: SelfConsistency?
        var peakResidentBytes: Int?
        var seconds: Double
        var examples: [VisionEvaluation.Example]
    }

    func run() throws {
        if let threads { Parallel.threadCount = threads }
        let started = Date()
        let folder = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent(VisionModelConfiguration.fileName).path) else {
            throw CommandFailure("\(model) has no vision weights (\(VisionModelConfiguration.fileName) + its safetensors): train them with `latte train-vision --output \(model)`")
        }
        // With --generated the generator and the vision path share one loaded backbone.
        let loaded = generated > 0 ? try loadModelFolder(model) { try TextToImagePipeline.loadWithBackbone(directory: $0, assets: .fetchIfMissing(log: say)) } : nil
        let chat = try VisionChat.load(folder: folder, backbone: loaded?.backbone)
        let cache = try VisionFeatureCache(encoder: chat.encoder, grid: chat.configuration.grid)
        var parts: [VisionEvaluation] = []
        for set in try VisionData.heldOut(cache: cache, images: images, seed: seed, sets: setsToRead, log: say) {
            let questions = chosenTasks.map { chosen in set.questions.filter { chosen.contains($0.task) } } ?? set.questions
            parts.append(try VisionEvaluation.evaluate(answerer: chat.answerer, tokens: set.tokens, questions: questions) { done, total in
                if done % 100 == 0 || done == total { say("answered \(done)/\(total) held-out \(set.name) questions") }
            })
        }
        let result = VisionEvaluation.merged(parts)
        let speed = skipSpeed ? nil : try measureSpeed(chat)
        let consistency = try loaded.map { try selfConsistency(pipeline: $0.pipeline, chat: chat) }
        let report = Report(model: model, imagesPerSet: images, tasks: result.tasks, matchingRule: result.matchingRule,
                            fashionSynonyms: VisionQuestions.fashionSynonyms, speed: speed, selfConsistency: consistency, peakResidentBytes: ResidentMemory.peakBytes(),
                            seconds: Date().timeIntervalSince(started), examples: result.examples)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("held-out accuracy of \(model) (greedy answers, one question per prompt):")
        print("  task               accuracy   questions   majority baseline")
        for (task, score) in result.tasks.sorted(by: { $0.key < $1.key }) {
            print("  " + task.padding(toLength: 18, withPad: " ", startingAt: 0) + String(format: " %6.1f %%   %9d   %6.1f %%", score.accuracy * 100, score.count, score.chance * 100))
        }
        print("matching rule: \(result.matchingRule)")
        if let s = speed {
            print(String(format: "speed (batch 1, %d threads, median of %d): time to first token %.3f s (encode %.3f s + prefill and first token %.3f s); %.1f tokens/s over %d tokens",
                         s.threads, s.repeats, s.timeToFirstTokenSeconds, s.encodeSeconds, s.prefillToFirstTokenSeconds, s.tokensPerSecond, s.decodedTokens))
        }
        if let c = consistency {
            print(String(format: "self-consistency on %d generated images (%d per class): the vision path names the prompted class of %.1f %%, the classifier %.1f %%; the two judges agree on %.1f %%",
                         c.images, c.perClass, c.visionNamesPromptedClass * 100, c.classifierAccuracy * 100, c.judgesAgree * 100))
        }
        if let peak = report.peakResidentBytes { print(String(format: "peak resident memory: %.0f MiB", Double(peak) / 1_048_576)) }
    }

    /// Batch 1 on the first held-out Fashion-MNIST image: the median of three runs.
    func measureSpeed(_ chat: VisionChat) throws -> Speed {
        let image = try VisionData.fashion(split: .test, count: 1).images
        var encode: [Double] = [], first: [Double] = [], rate: [Double] = []
        let repeats = 3
        for _ in 0..<repeats {
            let t0 = DispatchTime.now().uptimeNanoseconds
            let tokens = chat.encoder.features(image).adaptiveAveragePoolTokens(grid: chat.configuration.grid)
            let t1 = DispatchTime.now().uptimeNanoseconds
            var times: [UInt64] = []
            _ = try chat.answerer.answer("What is this?", tokens: tokens, maxTokens: speedTokens, stopAtEnd: false,
                                         onTokenID: { _ in times.append(DispatchTime.now().uptimeNanoseconds) })
            encode.append(Double(t1 - t0) / 1e9)
            first.append(Double(times[0] - t1) / 1e9)
            rate.append(Double(times.count - 1) / (Double(times.last! - times[0]) / 1e9))
        }
        func median(_ x: [Double]) -> Double { x.sorted()[x.count / 2] }
        let (e, f) = (median(encode), median(first))
        return Speed(threads: Parallel.threadCount, encodeSeconds: e, prefillToFirstTokenSeconds: f, timeToFirstTokenSeconds: e + f,
                     tokensPerSecond: median(rate), decodedTokens: speedTokens, repeats: repeats)
    }

    /// `--generated` images per class (class-major, the model's class phrases in turn, seeds from
    /// `--generated-seed`), asked "What is this?" and judged by `namesFashionClass`, and classified by the
    /// Fashion-MNIST classifier.
    func selfConsistency(pipeline: TextToImagePipeline, chat: VisionChat) throws -> SelfConsistency {
        guard let phrases = pipeline.manifest.classPhrases, let names = pipeline.manifest.classNames, phrases.count == 10 else {
            throw CommandFailure("--generated: \(model) is not a Fashion-MNIST class-conditional model (model.json records no ten class phrases)")
        }
        try sampling.guide.apply(to: pipeline)
        pipeline.packForInference()
        let settings = try sampling.settings(for: pipeline, seed: generatedSeed)
        let jobs = (0..<10).flatMap { c in (0..<generated).map { i in (label: c, prompt: phrases[c][i % phrases[c].count]) } }
        let requests = jobs.enumerated().map { ImageRequest(prompt: $0.element.prompt, seed: generatedSeed &+ UInt64($0.offset)) }
        var bar = TrainingProgress(total: jobs.count, label: "generating")
        let images = try pipeline.generate(requests, settings: settings, batchSize: 50) { p in
            if p.step == p.stepsPerBatch { bar.update(step: p.imagesDone + p.batchImages, fields: []) }
            return true
        }
        let predicted = try FashionClassifier.load(directory: URL(fileURLWithPath: classifier)).predict(ImageTensors.unitRange(images).contiguous())
        var vision = [Int](repeating: 0, count: 10), classified = [Int](repeating: 0, count: 10), agree = 0
        for (i, image) in ImageTensors.images(images).enumerated() {
            let label = jobs[i].label
            let x = VisionImage.tensor(of: image, size: chat.configuration.inputSize)
            let answer = try chat.answerer.answer("What is this?", tokens: chat.encoder.features(x).adaptiveAveragePoolTokens(grid: chat.configuration.grid), maxTokens: 16)
            let named = VisionQuestions.namesFashionClass(answer, label: label), right = predicted[i] == label
            if named { vision[label] += 1 }
            if right { classified[label] += 1 }
            if named == right { agree += 1 }
            if (i + 1) % 50 == 0 || i + 1 == jobs.count { say("asked about \(i + 1)/\(jobs.count) generated images") }
        }
        let n = Double(jobs.count)
        return SelfConsistency(images: jobs.count, perClass: generated, visionNamesPromptedClass: Double(vision.reduce(0, +)) / n,
                               classifierAccuracy: Double(classified.reduce(0, +)) / n, judgesAgree: Double(agree) / n,
                               perClassVision: Dictionary(uniqueKeysWithValues: (0..<10).map { (names[$0], Double(vision[$0]) / Double(generated)) }),
                               perClassClassifier: Dictionary(uniqueKeysWithValues: (0..<10).map { (names[$0], Double(classified[$0]) / Double(generated)) }))
    }
}
