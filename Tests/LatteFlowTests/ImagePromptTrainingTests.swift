import Foundation
import LatteFlow
import LatteModels
import LatteNN
import LatteTensor
import XCTest

/// Training on image prompts (`ImagePromptPairs` in the one training loop) on a tiny generator whose
/// backbone is the tiny chat LLaMA: every prompt image is another image of the target's class, never
/// the target; the text steps come where the fraction says; the loss is finite and falls; a stopped
/// run resumes into fresh objects with exactly the uninterrupted run's losses.
final class ImagePromptTrainingTests: XCTestCase {
    var dir: URL!
    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("image-prompt-training-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// 24 latents of 3 classes (item i has class i % 3; each class its own pattern plus a little noise),
    /// two phrases per class, and a pool of the first 9 items (3 per class) as image prompts.
    func data(textFraction: Double = 0.5, poolItems: [Int] = Array(0..<9), seed: UInt64 = 3) throws -> ImagePromptPairs {
        let c = tinyConfiguration()
        var g = RandomGenerator(seed: 21)
        let patterns = (0..<3).map { _ in Tensor.normal([1, c.latentChannels, c.latentHeight, c.latentWidth], generator: &g) }
        let labels = (0..<24).map { $0 % 3 }
        let latents = Tensor.concat(labels.map { patterns[$0] + Tensor.normal(patterns[0].shape, std: 0.1, generator: &g) }, axis: 0)
        let texts = PromptTable(caches: (0..<6).map { randomPrompt(c, length: 2 + $0 % 2, seed: UInt64(40 + $0)) })
        let encoder = try ImagePromptEncoder(lm: TinyChatBackbone.model(), projector: TinyChatBackbone.projector(),
                                             tokenizer: try TinyChatBackbone.tokenizer(), tokensPerImage: 4)
        let tokens = Tensor.normal([poolItems.count, 4, 6], generator: &g)
        let images = try PromptTable.prefillImages(tokens: tokens, encoder: encoder, backboneName: "tiny", projectorDigest: "p",
                                                   file: dir.appendingPathComponent("image-prompts.f16")) { _ in }
        return try ImagePromptPairs(latents: try LatentTensor(latents), labels: labels, items: Array(0..<24), phrases: [[0, 1], [2, 3], [4, 5]],
                                    texts: texts, images: images, imageItems: poolItems, imageLabels: poolItems.map { $0 % 3 },
                                    textFraction: textFraction, batchSize: 6, seed: seed)
    }

    func testPromptImagesAreOtherImagesOfTheTargetsClassDrawnAfresh() throws {
        let pairs = try data()
        var seenForItem0 = Set<Int>()
        for s in 0..<40 {
            let prompts = pairs.promptImages(step: s, rows: Array(0..<24))
            for (row, e) in prompts.enumerated() {
                XCTAssertEqual(pairs.imageLabels[e], pairs.labels[row], "step \(s), row \(row): the prompt image shows the target's class")
                XCTAssertNotEqual(pairs.imageItems[e], pairs.items[row], "step \(s), row \(row): never the target itself")
            }
            seenForItem0.insert(prompts[0])
        }
        // Item 0 (class 0) is in the pool with items 3 and 6: both of the others are drawn, over the steps.
        XCTAssertEqual(seenForItem0, [3, 6])

        var stream = try data()
        var kinds: [String] = []
        for _ in 0..<6 {
            let batch = try stream.next()
            kinds.append(stream.batchKind!)
            XCTAssertEqual(batch.latents.shape, [6, 2, 4, 4])
            let lengths = batch.prompts.map(\.length)
            if stream.batchKind == "image" {
                XCTAssertEqual(lengths, [Int](repeating: stream.images.lengths[0], count: 6), "image prompts")
            } else {
                XCTAssertTrue(lengths.allSatisfy { $0 == 2 || $0 == 3 }, "class phrases: \(lengths)")
            }
        }
        XCTAssertEqual(kinds, ["image", "text", "image", "text", "image", "text"])
        XCTAssertEqual((0..<100).filter { ImagePromptPairs.isTextStep($0, fraction: 0.25) }.count, 25)
        XCTAssertEqual((0..<100).filter { ImagePromptPairs.isTextStep($0, fraction: 0) }.count, 0)

        // A class with a single prompt image could prompt a target with itself: refused, naming the class.
        XCTAssertThrowsError(try data(poolItems: [0, 1, 2, 3, 4, 6, 7])) { error in
            XCTAssertTrue("\(error)".contains("class 2 has 1 prompt image"), "\(error)")
        }
    }

    func trainer(steps: Int, modelSeed: UInt64 = 1) throws -> GeneratorTrainer {
        let c = tinyConfiguration()
        let null = try PromptEncoder(backbone: TinyChatBackbone.model()).encode([TinyChatBackbone.characters.count])
        return GeneratorTrainer(model: try LayerwiseTimestepExperts(c, seed: modelSeed),
                                settings: TrainingSettings(steps: steps, learningRate: 3e-3, warmupSteps: 2, timesteps: .uniform, seed: 7),
                                nullPrompt: null, data: try data())
    }

    func losses(_ run: TrainingRun) throws -> [Float] {
        var out: [Float] = []
        try run.run(onStep: { out.append($0.loss) })
        return out
    }

    func testTrainingOnImagePromptsFallsAndResumesExactly() throws {
        let a = dir.appendingPathComponent("a")
        let fullRun = try TrainingRun(trainer: try trainer(steps: 30), options: .init(directory: a, steps: 30, checkpointEvery: 10))
        let full = try losses(fullRun)
        XCTAssertEqual(full.count, 30)
        XCTAssertTrue(full.allSatisfy(\.isFinite), "\(full)")
        let (first, last) = (full.prefix(6).reduce(0, +) / 6, full.suffix(6).reduce(0, +) / 6)
        XCTAssertLessThan(last, first * 0.9, "the flow-matching loss must fall: \(full)")
        // Each step's loss is logged under its kind too: image steps and text steps alternate.
        let records = try TrainingLog.records(in: fullRun.logURL!)
        XCTAssertEqual(records.map { $0.metrics["image_loss"] != nil }, (0..<30).map { $0 % 2 == 0 })
        XCTAssertEqual(records.map { $0.metrics["text_loss"] != nil }, (0..<30).map { $0 % 2 == 1 })

        let b = dir.appendingPathComponent("b")
        let stopped = try losses(try TrainingRun(trainer: try trainer(steps: 30), options: .init(directory: b, steps: 30, stopAfter: 13, checkpointEvery: 10)))
        let resumed = try TrainingRun(trainer: try trainer(steps: 30, modelSeed: 99), options: .init(directory: b, steps: 30, checkpointEvery: 10))
        XCTAssertEqual(resumed.step, 13)
        XCTAssertEqual(stopped + (try losses(resumed)), full, "a resumed run draws the same pairs, text steps, times and noise")
    }
}
