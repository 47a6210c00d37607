import Foundation
import LatteNN
import LatteTensor
import LatteTokenizers
import XCTest
@testable import LatteModels

/// The vision trainer on a tiny float LLaMA: the loss covers the answer tokens only, a padded batch
/// gives the same loss as its samples one by one, training moves the projector and nothing of the LM,
/// and a projector learns to tell two "images" apart (loss falls, the answers become right).
final class VisionTrainerTests: XCTestCase {
    /// Two images (2 tokens of 6 channels each) and questions whose answer token depends on the image.
    static func setup(batch: Int = 2, steps: Int = 300) throws -> (VisionTrainer, LLaMAModel) {
        let lm = ImageTokenTests.tinyModel()
        var g = RandomGenerator(seed: 9)
        let projector = ImageTokenProjector(encoderChannels: 6, width: 16, generator: &g)
        let features = Tensor.normal([2, 2, 6], generator: &g)
        // [start, user, img, img, q…, assistant, ANSWER, end]: answers 11 (image 0) or 12 (image 1).
        func sample(_ image: Int, question: [Int]) -> VisionTrainingSample {
            let ids = [1, 2, 0, 0] + question + [3, 11 + image, 4]
            return VisionTrainingSample(prompt: VisionPrompt(ids: ids, imagePositions: 2..<4, answerStart: ids.count - 2), feature: image)
        }
        let samples = [sample(0, question: [5]), sample(1, question: [5]), sample(0, question: [6, 7]), sample(1, question: [6, 7])]
        let trainer = try VisionTrainer(lm: lm, projector: projector, features: features, samples: samples,
                                        settings: VisionTrainingSettings(steps: steps, batchSize: batch, learningRate: 3e-2, warmupSteps: 5, emaDecay: 0.9))
        return (trainer, lm)
    }

    func testPaddedBatchLossIsTheTokenWeightedMeanOfItsSamples() throws {
        let (trainer, _) = try Self.setup()
        let both = withoutGradient { trainer.loss([0, 2]).loss.item() }
        let first = withoutGradient { trainer.loss([0]).loss.item() }, second = withoutGradient { trainer.loss([2]).loss.item() }
        // Both samples have 2 answer tokens, so the batch's mean is the plain mean.
        XCTAssertEqual(both, (first + second) / 2, accuracy: 1e-5)
    }

    func testLossIsOnAnswerTokensOnly() throws {
        let (trainer, lm) = try Self.setup()
        let s = trainer.samples[2]
        XCTAssertEqual(Array(s.prompt.ids[s.prompt.answerStart...]), [11, 4])
        // The same loss by hand: all positions' log-probabilities, then only the rows that predict the
        // answer and its end marker.
        let manual: Float = withoutGradient {
            let ids = s.prompt.ids
            let text = lm.inputEmbeddings(Tensor(indices: ids, shape: [1, ids.count]))
            let images = trainer.projector(trainer.features.sliced(axis: 0, 0..<1))
            let logp = lm.logits(lm.hiddenStates(embeddings: ImageTokenInsertion.embeddings(text, replacing: [2, 3], with: images)))
                .reshaped([ids.count, -1]).logSoftmax(axis: -1).toArray()
            let v = lm.configuration.vocabularySize
            let picked = (s.prompt.answerStart..<ids.count).map { p in -logp[(p - 1) * v + ids[p]] }
            return picked.reduce(0, +) / Float(picked.count)
        }
        XCTAssertEqual(withoutGradient { trainer.loss([2]).loss.item() }, manual, accuracy: 1e-5)
    }

    func testTrainingMovesOnlyTheProjectorAndLearnsTheImages() throws {
        let (trainer, lm) = try Self.setup()
        let lmBefore = lm.namedParameters().map { $0.parameter.value.toArray().map(\.bitPattern) }
        let projectorBefore = trainer.projector.linear_1.weight.value.toArray()
        let start = withoutGradient { trainer.loss([0, 1, 2, 3]).loss.item() }
        let run = try TrainingRun(trainer: trainer, options: TrainingRun.Options(directory: nil, steps: 300))
        try run.run()
        let end = withoutGradient { trainer.loss([0, 1, 2, 3]) }
        XCTAssertLessThan(end.loss.item(), start, "the answer loss must fall (from \(start))")
        XCTAssertEqual(trainer.update.arena.count, trainer.projector.parameterCount(), "the arena holds the projector alone")
        XCTAssertEqual(lm.namedParameters().map { $0.parameter.value.toArray().map(\.bitPattern) }, lmBefore, "the LM must not change")
        XCTAssertNotEqual(trainer.projector.linear_1.weight.value.toArray(), projectorBefore)
        // The image-dependent token alone (the random frozen LM's end marker is out of the projector's
        // reach through two input rows): the projector must learn which image says 11 and which 12.
        let imageOnly = try VisionTrainer(lm: lm, projector: trainer.projector, features: trainer.features,
                                          samples: trainer.samples.map { s in
                                              var p = s.prompt
                                              p.ids.removeLast()
                                              return VisionTrainingSample(prompt: p, feature: s.feature)
                                          }, settings: trainer.settings)
        let before = withoutGradient { imageOnly.loss([0, 1, 2, 3]).loss.item() }
        try TrainingRun(trainer: imageOnly, options: TrainingRun.Options(directory: nil, steps: 300)).run()
        let after = withoutGradient { imageOnly.loss([0, 1, 2, 3]) }
        // The random tiny LM's logits are flat-ish (std 0.3 weights through RMS norms): the loss falls
        // only a little, but the argmax must pick each image's own answer.
        XCTAssertLessThan(after.loss.item(), before, "the image token's loss must fall (from \(before))")
        XCTAssertEqual(after.tokenAccuracy, 1, "both images' answers right after training")
    }

    func testResumeRestoresTheDataPosition() throws {
        let (a, _) = try Self.setup(batch: 3)
        _ = a.nextBatch(); _ = a.nextBatch()
        let state = try a.checkpointState()
        let expected = a.nextBatch()
        let (b, _) = try Self.setup(batch: 3)
        try b.restore(checkpointState: state)
        XCTAssertEqual(b.nextBatch(), expected)
        XCTAssertThrowsError(try b.restore(checkpointState: ["drawn": "1", "samples": "7"]))
    }

    func testVisionConfigurationRoundTrips() throws {
        let (trainer, _) = try Self.setup()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vision-config-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let c = VisionModelConfiguration(inputSize: 64, grid: 1, encoderChannels: 6, width: 16)
        XCTAssertFalse(VisionModelConfiguration.present(in: folder))
        try c.save(projector: trainer.projector, to: folder)
        XCTAssertTrue(VisionModelConfiguration.present(in: folder))
        let (read, projector) = try VisionModelConfiguration.load(folder: folder)
        XCTAssertEqual(read, c)
        XCTAssertEqual(projector.linear_2.weight.value.toArray(), trainer.projector.linear_2.weight.value.toArray())
        try Data("{}".utf8).write(to: folder.appendingPathComponent("vision.json"))
        XCTAssertThrowsError(try VisionModelConfiguration.load(folder: folder)) { XCTAssertTrue("\($0)".contains("vision.json"), "\($0)") }
    }

    /// A two-turn sample: the loss is the mean over both answers' tokens, the image rows come from the
    /// sample's own feature set (float16 widened), and `VisionPrompt.build(turns:)` lays out exactly the
    /// one-question prompt as its first turn.
    func testMultiTurnLossCoversEveryAnswerFromItsOwnFeatureSet() throws {
        let lm = ImageTokenTests.tinyModel()
        var g = RandomGenerator(seed: 4)
        let projector = ImageTokenProjector(encoderChannels: 6, width: 16, generator: &g)
        let first = Tensor.normal([1, 2, 6], generator: &g), second = Tensor.normal([2, 2, 6], generator: &g).to(.float16)
        // [start, user, img, img, q, assistant, A1, end, user, q2, assistant, A2, end]
        let ids = [1, 2, 0, 0, 5, 3, 11, 4, 2, 6, 3, 12, 4]
        let two = VisionPrompt(ids: ids, imagePositions: 2..<4, answerStart: 6, turnAnswers: [6..<8, 11..<13])
        XCTAssertEqual(two.answerRanges, [6..<8, 11..<13])
        let samples = [VisionTrainingSample(prompt: two, feature: 1, source: 1),
                       VisionTrainingSample(prompt: VisionPrompt(ids: Array(ids[..<8]), imagePositions: 2..<4, answerStart: 6), feature: 0)]
        let trainer = try VisionTrainer(lm: lm, projector: projector, featureSets: [first, second], samples: samples,
                                        settings: VisionTrainingSettings(steps: 1, batchSize: 2))
        let manual: Float = withoutGradient {
            let text = lm.inputEmbeddings(Tensor(indices: ids, shape: [1, ids.count]))
            let images = projector(second.sliced(axis: 0, 1..<2).toFloat32())
            let logp = lm.logits(lm.hiddenStates(embeddings: ImageTokenInsertion.embeddings(text, replacing: [2, 3], with: images)))
                .reshaped([ids.count, -1]).logSoftmax(axis: -1).toArray()
            let v = lm.configuration.vocabularySize
            let picked = [6, 7, 11, 12].map { p in -logp[(p - 1) * v + ids[p]] }
            return picked.reduce(0, +) / Float(picked.count)
        }
        XCTAssertEqual(withoutGradient { trainer.loss([0]).loss.item() }, manual, accuracy: 1e-5)
        // A padded batch of a two-turn and a one-turn sample weighs every answer token alike (4 + 2 tokens).
        let one = withoutGradient { trainer.loss([1]).loss.item() }
        XCTAssertEqual(withoutGradient { trainer.loss([0, 1]).loss.item() }, (4 * manual + 2 * one) / 6, accuracy: 1e-5)
        XCTAssertThrowsError(try VisionTrainer(lm: lm, projector: projector, featureSets: [first, second],
                                               samples: [VisionTrainingSample(prompt: two, feature: 1, source: 0)],
                                               settings: VisionTrainingSettings(steps: 1))) { error in
            XCTAssertTrue("\(error)".contains("feature row 1 of set 0"), "\(error)")
        }

        let tokenizer = try Tokenizer.load(contentsOf: try Self.chatMLTokenizer())
        let built = try VisionPrompt.build(tokenizer: tokenizer, turns: [("What?", "A bag."), ("Shoes?", "No.")], tokensPerImage: 3)
        let single = try VisionPrompt.build(tokenizer: tokenizer, question: "What?", answer: "A bag.", tokensPerImage: 3)
        XCTAssertEqual(Array(built.ids[..<single.ids.count]), single.ids, "the first turn is the one-question layout")
        XCTAssertEqual(built.answerRanges.count, 2)
        XCTAssertEqual(built.answerRanges[0], single.answerStart..<single.ids.count)
        XCTAssertEqual(Array(built.ids[built.answerRanges[1]]), tokenizer.encode("No.<|im_end|>", addSpecialTokens: false))
        XCTAssertEqual(Array(built.ids[single.ids.count..<built.answerRanges[1].lowerBound]),
                       tokenizer.encode("\n<|im_start|>user\nShoes?<|im_end|>\n<|im_start|>assistant\n", addSpecialTokens: false))
        XCTAssertEqual(built.ids.count, built.answerRanges[1].upperBound)
    }

    /// A character-level tokenizer with ChatML's markers (printable ASCII, newline, then the markers).
    static func chatMLTokenizer() throws -> URL {
        var vocab: [String: Int] = [:]
        for (i, c) in (32...126).enumerated() { vocab[String(Character(UnicodeScalar(UInt8(c))))] = i }
        vocab["\n"] = 95
        let specials = [("<|im_start|>", 96), ("<|im_end|>", 97)]
        for (text, id) in specials { vocab[text] = id }
        let added = specials.map { ["id": $0.1, "content": $0.0, "single_word": false, "lstrip": false, "rstrip": false, "normalized": false, "special": true] as [String: Any] }
        let json: [String: Any] = ["version": "1.0", "added_tokens": added, "normalizer": NSNull(), "pre_tokenizer": NSNull(), "post_processor": NSNull(),
                                   "decoder": NSNull(), "model": ["type": "BPE", "vocab": vocab, "merges": [String]()] as [String: Any]]
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("chatml-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: json).write(to: url)
        return url
    }
}
